"""Demo data: a bilingual organisation, its users, and realistic accounts and contacts.

Two ways in:

- `build_organisation()` + `generate_with_services(...)`: every record through the services,
  so each one is permission-checked, validated and audited (the `small` demo).
- `bulk_generate(...)`: batched `bulk_create` inside transactions, for volume (medium, large,
  benchmarks). It bypasses per-record audit; the caller records one summary event.

The generated values are valid by construction: unified social credit codes carry their
GB 32100 check character, phones are E.164 (+86…), e-mails and web addresses are well formed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from django.db import transaction
from django.db.models import Max

from rapport.core.tags import services as tag_services
from rapport.core.tags.models import Tag
from rapport.customers import services as customer_services
from rapport.customers.models import Account, Contact, Industry
from rapport.customers.validators import USCC_ALPHABET, uscc_check_char
from rapport.identity import services as identity_services
from rapport.identity.models import Department, Role, Team, User

# Documented in README and printed by `rapport demo`: every demo login uses it.
DEMO_PASSWORD = "Rapport-Demo-2026"  # noqa: S105 (a published demo password)
DEMO_EMAIL_DOMAIN = "demo.rapport.example.com"


# --- organisation ---------------------------------------------------------------------------

# (code, name, parent code); names are the company's (Chinese) names, codes are English.
DEPARTMENTS: tuple[tuple[str, str, str | None], ...] = (
    ("hq", "总部", None),
    ("east-china", "华东区", "hq"),
    ("shanghai-office", "上海办事处", "east-china"),
    ("south-china", "华南区", "hq"),
    ("shenzhen-office", "深圳办事处", "south-china"),
    ("north-china", "华北区", "hq"),
    ("beijing-office", "北京办事处", "north-china"),
    ("west-china", "西部区", "hq"),
    ("chengdu-office", "成都办事处", "west-china"),
    ("service-centre", "客户服务中心", "hq"),
    ("marketing", "市场部", "hq"),
    ("finance", "财务部", "hq"),
)

# Sales offices and the provinces their customers are mostly in.
SALES_OFFICES: dict[str, tuple[str, ...]] = {
    "shanghai-office": ("上海市", "江苏省", "浙江省", "安徽省", "山东省"),
    "shenzhen-office": ("广东省", "福建省"),
    "beijing-office": ("北京市", "天津市", "河北省", "河南省"),
    "chengdu-office": ("四川省", "重庆市", "陕西省", "湖北省", "湖南省"),
}
REGION_OF_DEPARTMENT = {
    "east-china": "shanghai-office",
    "south-china": "shenzhen-office",
    "north-china": "beijing-office",
    "west-china": "chengdu-office",
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    department: str
    title: str
    language: str = "zh-hans"
    owns_accounts: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Alex Admin", "administrator", "hq", "IT Administrator", "en"),
    DemoUser("auditor", "钱审计", "auditor", "hq", "内审专员"),
    DemoUser(
        "sales_manager",
        "王建国",
        "sales_manager",
        "east-china",
        "华东区销售经理",
        owns_accounts=True,
    ),
    DemoUser("sales_rep", "李晓燕", "sales_rep", "shanghai-office", "销售代表", owns_accounts=True),
    DemoUser(
        "sales_rep_south",
        "Kevin Chen",
        "sales_rep",
        "shenzhen-office",
        "Sales Representative",
        "en",
        owns_accounts=True,
    ),
    DemoUser(
        "customer_manager",
        "张海燕",
        "customer_manager",
        "east-china",
        "大客户经理",
        owns_accounts=True,
    ),
    DemoUser("service_agent", "刘洋", "service_agent", "service-centre", "客服专员"),
    DemoUser("service_manager", "陈静", "service_manager", "service-centre", "客服主管"),
    DemoUser("marketer", "赵思远", "marketer", "marketing", "市场专员"),
    DemoUser("finance", "孙丽华", "finance", "finance", "财务主管"),
)

# department code -> username of its manager
DEPARTMENT_MANAGERS = {
    "hq": "admin",
    "east-china": "sales_manager",
    "service-centre": "service_manager",
}

# (name, department code, lead, members)
TEAMS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("重点客户组 Key accounts", "east-china", "customer_manager", ("sales_rep",)),
    ("华南销售组 South sales", "south-china", "sales_rep_south", ()),
    ("客服一组 Service team 1", "service-centre", "service_manager", ("service_agent",)),
)


def build_organisation() -> dict[str, User]:
    """Create the demo departments, users (one per built-in role) and teams; idempotent.

    Everything goes through the identity services as the system (actor=None), so it is
    audited; existing departments, users and teams with the same codes/names are reused.
    """
    identity_services.roles_sync_builtin()
    departments: dict[str, Department] = {
        department.code: department
        for department in Department.objects.filter(code__in=[code for code, *_ in DEPARTMENTS])
    }
    for code, name, parent_code in DEPARTMENTS:
        if code not in departments:
            departments[code] = identity_services.department_create(
                actor=None,
                name=name,
                code=code,
                parent=departments[parent_code] if parent_code else None,
            )
    roles = {role.code: role for role in Role.objects.all()}
    users: dict[str, User] = {
        user.username: user
        for user in User.objects.filter(username__in=[u.username for u in DEMO_USERS])
    }
    for demo in DEMO_USERS:
        if demo.username in users:
            continue
        users[demo.username] = identity_services.user_create(
            actor=None,
            username=demo.username,
            email=f"{demo.username}@{DEMO_EMAIL_DOMAIN}",
            password=DEMO_PASSWORD,
            display_name=demo.display_name,
            department=departments[demo.department],
            roles=[roles[demo.role]],
            title=demo.title,
            language=demo.language,
        )
    admin = users["admin"]
    for code, username in DEPARTMENT_MANAGERS.items():
        department = departments[code]
        if department.manager_id is None and admin.is_active:
            identity_services.department_update(
                actor=admin, department=department, manager=users[username]
            )
    existing_teams = set(Team.objects.values_list("name", flat=True))
    for name, department_code, lead, members in TEAMS:
        if name not in existing_teams:
            identity_services.team_create(
                actor=None,
                name=name,
                department=departments[department_code],
                lead=users[lead],
                members=[users[member] for member in members],
            )
    return users


def add_sales_reps(count: int, *, generator: DemoData | None = None) -> list[User]:
    """Add `count` more sales reps (no password: owners of bulk data), spread over the offices."""
    generator = generator or DemoData()
    identity_services.roles_sync_builtin()
    role = Role.objects.get(code="sales_rep")
    offices = list(Department.objects.filter(code__in=SALES_OFFICES).order_by("code"))
    existing = set(
        User.objects.filter(username__startswith="rep").values_list("username", flat=True)
    )
    reps: list[User] = []
    number = 0
    while len(reps) < count:
        number += 1
        username = f"rep{number:04d}"
        if username in existing:
            continue
        name, _email_local = generator.person_zh()
        reps.append(
            identity_services.user_create(
                actor=None,
                username=username,
                email=f"{username}@{DEMO_EMAIL_DOMAIN}",
                display_name=name,
                department=offices[number % len(offices)],
                roles=[role],
                title="销售代表",
            )
        )
    return reps


@dataclass(frozen=True)
class Owner:
    """An owner of generated records and the provinces their customers are mostly in."""

    user_id: int
    provinces: tuple[str, ...] = ()


def owners_of(users) -> list[Owner]:
    """Owners for generated records, each preferring the provinces of their sales region."""
    owners = []
    for user in users:
        department = user.department
        office_code = department.code if department else ""
        office_code = REGION_OF_DEPARTMENT.get(office_code, office_code)
        owners.append(Owner(user.pk, SALES_OFFICES.get(office_code, ())))
    return owners


def demo_logins() -> list[tuple[str, str, str, str]]:
    """(username, name, role, department) of the demo users that exist and are active."""
    users = {
        user.username: user
        for user in User.objects.filter(
            username__in=[u.username for u in DEMO_USERS], is_active=True
        ).select_related("department")
    }
    rows = []
    for demo in DEMO_USERS:
        user = users.get(demo.username)
        if user is None:
            continue
        role = Role.objects.filter(code=demo.role).first()
        rows.append(
            (
                user.username,
                str(user),
                str(role) if role else demo.role,
                str(user.department) if user.department else "",
            )
        )
    return rows


# --- reference data -------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    province: str
    name: str  # 上海
    name_en: str
    division: str  # administrative division code, positions 3–8 of a credit code
    area_code: str  # without the trunk 0
    local_digits: int
    districts: tuple[tuple[str, str], ...]  # (Chinese, English)


CITIES: tuple[City, ...] = (
    City(
        "上海市",
        "上海",
        "Shanghai",
        "310000",
        "21",
        8,
        (
            ("浦东新区", "Pudong New Area"),
            ("徐汇区", "Xuhui District"),
            ("闵行区", "Minhang District"),
            ("静安区", "Jing'an District"),
        ),
    ),
    City(
        "北京市",
        "北京",
        "Beijing",
        "110000",
        "10",
        8,
        (
            ("朝阳区", "Chaoyang District"),
            ("海淀区", "Haidian District"),
            ("东城区", "Dongcheng District"),
        ),
    ),
    City(
        "天津市",
        "天津",
        "Tianjin",
        "120000",
        "22",
        8,
        (("滨海新区", "Binhai New Area"), ("和平区", "Heping District")),
    ),
    City(
        "重庆市",
        "重庆",
        "Chongqing",
        "500000",
        "23",
        8,
        (("渝中区", "Yuzhong District"), ("江北区", "Jiangbei District")),
    ),
    City(
        "广东省",
        "广州",
        "Guangzhou",
        "440100",
        "20",
        8,
        (
            ("天河区", "Tianhe District"),
            ("越秀区", "Yuexiu District"),
            ("黄埔区", "Huangpu District"),
        ),
    ),
    City(
        "广东省",
        "深圳",
        "Shenzhen",
        "440300",
        "755",
        8,
        (
            ("南山区", "Nanshan District"),
            ("福田区", "Futian District"),
            ("宝安区", "Bao'an District"),
        ),
    ),
    City(
        "广东省",
        "东莞",
        "Dongguan",
        "441900",
        "769",
        8,
        (("松山湖", "Songshan Lake"), ("长安镇", "Chang'an Town")),
    ),
    City(
        "广东省",
        "佛山",
        "Foshan",
        "440600",
        "757",
        8,
        (("顺德区", "Shunde District"), ("南海区", "Nanhai District")),
    ),
    City(
        "江苏省",
        "南京",
        "Nanjing",
        "320100",
        "25",
        8,
        (("鼓楼区", "Gulou District"), ("江宁区", "Jiangning District")),
    ),
    City(
        "江苏省",
        "苏州",
        "Suzhou",
        "320500",
        "512",
        8,
        (("工业园区", "Industrial Park"), ("吴中区", "Wuzhong District")),
    ),
    City(
        "江苏省",
        "无锡",
        "Wuxi",
        "320200",
        "510",
        8,
        (("新吴区", "Xinwu District"), ("梁溪区", "Liangxi District")),
    ),
    City(
        "浙江省",
        "杭州",
        "Hangzhou",
        "330100",
        "571",
        8,
        (
            ("西湖区", "Xihu District"),
            ("滨江区", "Binjiang District"),
            ("余杭区", "Yuhang District"),
        ),
    ),
    City(
        "浙江省",
        "宁波",
        "Ningbo",
        "330200",
        "574",
        8,
        (("鄞州区", "Yinzhou District"), ("北仑区", "Beilun District")),
    ),
    City(
        "山东省",
        "青岛",
        "Qingdao",
        "370200",
        "532",
        8,
        (("市南区", "Shinan District"), ("黄岛区", "Huangdao District")),
    ),
    City(
        "山东省",
        "济南",
        "Jinan",
        "370100",
        "531",
        8,
        (("历下区", "Lixia District"), ("高新区", "Hi-Tech Zone")),
    ),
    City(
        "安徽省",
        "合肥",
        "Hefei",
        "340100",
        "551",
        8,
        (("蜀山区", "Shushan District"), ("包河区", "Baohe District")),
    ),
    City(
        "福建省",
        "厦门",
        "Xiamen",
        "350200",
        "592",
        7,
        (("思明区", "Siming District"), ("湖里区", "Huli District")),
    ),
    City(
        "福建省",
        "福州",
        "Fuzhou",
        "350100",
        "591",
        8,
        (("鼓楼区", "Gulou District"), ("仓山区", "Cangshan District")),
    ),
    City(
        "四川省",
        "成都",
        "Chengdu",
        "510100",
        "28",
        8,
        (("武侯区", "Wuhou District"), ("高新区", "Hi-Tech Zone"), ("锦江区", "Jinjiang District")),
    ),
    City(
        "陕西省",
        "西安",
        "Xi'an",
        "610100",
        "29",
        8,
        (("雁塔区", "Yanta District"), ("未央区", "Weiyang District")),
    ),
    City(
        "湖北省",
        "武汉",
        "Wuhan",
        "420100",
        "27",
        8,
        (("洪山区", "Hongshan District"), ("江汉区", "Jianghan District")),
    ),
    City(
        "湖南省",
        "长沙",
        "Changsha",
        "430100",
        "731",
        8,
        (("岳麓区", "Yuelu District"), ("芙蓉区", "Furong District")),
    ),
    City(
        "河南省",
        "郑州",
        "Zhengzhou",
        "410100",
        "371",
        8,
        (("金水区", "Jinshui District"), ("郑东新区", "Zhengdong New Area")),
    ),
    City(
        "河北省",
        "石家庄",
        "Shijiazhuang",
        "130100",
        "311",
        8,
        (("长安区", "Chang'an District"), ("裕华区", "Yuhua District")),
    ),
)
CITIES_BY_PROVINCE: dict[str, list[City]] = {}
for _city in CITIES:
    CITIES_BY_PROVINCE.setdefault(_city.province, []).append(_city)

# (Chinese, pinyin, English) brand words of company names
BRANDS: tuple[tuple[str, str, str], ...] = (
    ("华信", "huaxin", "Huaxin"),
    ("宏远", "hongyuan", "Grandview"),
    ("恒通", "hengtong", "Everpass"),
    ("金桥", "jinqiao", "Golden Bridge"),
    ("东方", "dongfang", "Oriental"),
    ("新世纪", "xinshiji", "New Century"),
    ("汇通", "huitong", "Unity"),
    ("博远", "boyuan", "Broadview"),
    ("瑞丰", "ruifeng", "Richfield"),
    ("天成", "tiancheng", "Skyward"),
    ("长风", "changfeng", "Longwind"),
    ("永盛", "yongsheng", "Evergrand"),
    ("嘉和", "jiahe", "Harmony"),
    ("鼎新", "dingxin", "Tripod"),
    ("浦江", "pujiang", "Riverside"),
    ("海纳", "haina", "Oceanic"),
    ("星辰", "xingchen", "Starlight"),
    ("锦程", "jincheng", "Brightway"),
    ("光明", "guangming", "Brightland"),
    ("华泰", "huatai", "Huatai"),
    ("立信", "lixin", "Trustline"),
    ("卓越", "zhuoyue", "Excelsior"),
    ("同创", "tongchuang", "Cocreate"),
    ("智联", "zhilian", "Smartlink"),
    ("安达", "anda", "Andar"),
    ("蓝海", "lanhai", "Bluewave"),
    ("青松", "qingsong", "Evergreen"),
    ("远航", "yuanhang", "Voyager"),
    ("万象", "wanxiang", "Panorama"),
    ("德胜", "desheng", "Victory"),
    ("启明", "qiming", "Dawnstar"),
    ("盛世", "shengshi", "Prosperity"),
    ("和信", "hexin", "Concord"),
    ("富康", "fukang", "Fortune"),
    ("鸿运", "hongyun", "Goodwind"),
    ("华宇", "huayu", "Cosmos"),
    ("银河", "yinhe", "Galaxy"),
    ("凯达", "kaida", "Kaida"),
    ("中联", "zhonglian", "Sinolink"),
    ("瀚海", "hanhai", "Vastsea"),
    ("明德", "mingde", "Mingde"),
    ("君安", "junan", "Junan"),
    ("天润", "tianrun", "Tianrun"),
    ("信达", "xinda", "Cinda"),
    ("正泰", "zhengtai", "Zhengtai"),
    ("联创", "lianchuang", "Unicreate"),
    ("金穗", "jinsui", "Golden Harvest"),
    ("九州", "jiuzhou", "Ninestates"),
)

# (Chinese, short for web addresses, English, industry)
TRADES: tuple[tuple[str, str, str, str], ...] = (
    ("科技", "tech", "Technology", Industry.TECHNOLOGY),
    ("信息技术", "it", "Information Technology", Industry.TECHNOLOGY),
    ("软件", "soft", "Software", Industry.TECHNOLOGY),
    ("网络科技", "net", "Network Technology", Industry.TECHNOLOGY),
    ("精密机械", "mech", "Precision Machinery", Industry.MANUFACTURING),
    ("精密模具", "mould", "Precision Tooling", Industry.MANUFACTURING),
    ("电子", "elec", "Electronics", Industry.MANUFACTURING),
    ("汽车零部件", "auto", "Auto Parts", Industry.MANUFACTURING),
    ("新材料", "mat", "Advanced Materials", Industry.MANUFACTURING),
    ("贸易", "trade", "Trading", Industry.RETAIL),
    ("商贸", "cm", "Commerce", Industry.RETAIL),
    ("连锁超市", "mart", "Supermarkets", Industry.RETAIL),
    ("物流", "wl", "Logistics", Industry.LOGISTICS),
    ("供应链管理", "scm", "Supply Chain Management", Industry.LOGISTICS),
    ("国际货运代理", "freight", "International Freight", Industry.LOGISTICS),
    ("医疗器械", "med", "Medical Devices", Industry.HEALTHCARE),
    ("生物医药", "bio", "Biopharmaceutical", Industry.HEALTHCARE),
    ("健康管理", "health", "Health Management", Industry.HEALTHCARE),
    ("教育科技", "edu", "Education Technology", Industry.EDUCATION),
    ("职业培训", "train", "Vocational Training", Industry.EDUCATION),
    ("新能源", "ne", "New Energy", Industry.ENERGY),
    ("电力工程", "power", "Power Engineering", Industry.ENERGY),
    ("光伏科技", "solar", "Solar Technology", Industry.ENERGY),
    ("置业", "prop", "Property", Industry.REAL_ESTATE),
    ("建设工程", "build", "Construction Engineering", Industry.REAL_ESTATE),
    ("装饰工程", "deco", "Interior Engineering", Industry.REAL_ESTATE),
    ("投资管理", "invest", "Investment Management", Industry.FINANCE),
    ("融资租赁", "lease", "Financial Leasing", Industry.FINANCE),
    ("保险代理", "ins", "Insurance Agency", Industry.FINANCE),
    ("实业", "ind", "Industrial", Industry.OTHER),
    ("发展", "dev", "Development", Industry.OTHER),
    ("管理咨询", "consult", "Management Consulting", Industry.OTHER),
    ("文化传媒", "media", "Media", Industry.OTHER),
)
ZH_SUFFIXES = ("有限公司",) * 6 + ("股份有限公司",) * 2 + ("集团有限公司", "有限责任公司")
# (name pattern, industry, first two characters of the credit code)
PUBLIC_BODIES: tuple[tuple[str, str, str], ...] = (
    ("{city}市第一人民医院", Industry.HEALTHCARE, "12"),
    ("{city}市中医院", Industry.HEALTHCARE, "12"),
    ("{city}市第三中学", Industry.EDUCATION, "12"),
    ("{city}职业技术学院", Industry.EDUCATION, "12"),
    ("{city}市{district}人民政府", Industry.GOVERNMENT, "11"),
    ("{city}市市场监督管理局", Industry.GOVERNMENT, "11"),
    ("{city}市公共资源交易中心", Industry.GOVERNMENT, "12"),
)
ROADS: tuple[tuple[str, str], ...] = (
    ("人民路", "Renmin Road"),
    ("中山路", "Zhongshan Road"),
    ("解放路", "Jiefang Road"),
    ("建设路", "Jianshe Road"),
    ("长江路", "Changjiang Road"),
    ("科技园路", "Science Park Road"),
    ("世纪大道", "Century Avenue"),
    ("金融街", "Financial Street"),
    ("高新大道", "Hi-Tech Avenue"),
    ("滨江大道", "Riverside Avenue"),
    ("创业路", "Chuangye Road"),
    ("东方路", "Dongfang Road"),
)
SURNAMES: tuple[tuple[str, str], ...] = tuple(
    zip(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐韩冯邓曹彭曾田董潘袁蔡蒋余杜叶程魏苏吕丁任沈",
        [
            "wang",
            "li",
            "zhang",
            "liu",
            "chen",
            "yang",
            "huang",
            "zhao",
            "wu",
            "zhou",
            "xu",
            "sun",
            "ma",
            "zhu",
            "hu",
            "guo",
            "he",
            "lin",
            "luo",
            "gao",
            "zheng",
            "liang",
            "xie",
            "song",
            "tang",
            "han",
            "feng",
            "deng",
            "cao",
            "peng",
            "zeng",
            "tian",
            "dong",
            "pan",
            "yuan",
            "cai",
            "jiang",
            "yu",
            "du",
            "ye",
            "cheng",
            "wei",
            "su",
            "lv",
            "ding",
            "ren",
            "shen",
        ],
        strict=True,
    )
)
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("建华", "jianhua"),
    ("志强", "zhiqiang"),
    ("晓东", "xiaodong"),
    ("海燕", "haiyan"),
    ("文博", "wenbo"),
    ("子涵", "zihan"),
    ("思远", "siyuan"),
    ("雨婷", "yuting"),
    ("浩然", "haoran"),
    ("佳怡", "jiayi"),
    ("俊杰", "junjie"),
    ("欣怡", "xinyi"),
    ("宇航", "yuhang"),
    ("梦琪", "mengqi"),
    ("天宇", "tianyu"),
    ("博文", "bowen"),
    ("一鸣", "yiming"),
    ("嘉豪", "jiahao"),
    ("丽华", "lihua"),
    ("国庆", "guoqing"),
    ("建国", "jianguo"),
    ("红梅", "hongmei"),
    ("晓燕", "xiaoyan"),
)
FIRST_NAMES_EN = [
    "Emily",
    "David",
    "Michael",
    "Jennifer",
    "Kevin",
    "Grace",
    "Jason",
    "Linda",
    "Eric",
    "Vivian",
    "Tony",
    "Cindy",
    "Peter",
    "Helen",
    "Frank",
    "Sophia",
    "Daniel",
    "Amy",
    "Steven",
    "Jessica",
    "Richard",
    "Anna",
    "Thomas",
    "Olivia",
    "James",
    "Sarah",
    "William",
    "Catherine",
    "Henry",
    "Lucy",
]
SURNAMES_EN = [
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Huang",
    "Lin",
    "Wu",
    "Zhou",
    "Wong",
    "Lee",
    "Ho",
    "Smith",
    "Mueller",
    "Tanaka",
    "Kim",
    "Johnson",
    "Brown",
    "Schmidt",
    "Nguyen",
    "Martin",
    "Rossi",
]
TITLES_ZH = (
    "总经理",
    "副总经理",
    "采购经理",
    "采购专员",
    "财务总监",
    "财务经理",
    "技术总监",
    "IT经理",
    "行政主管",
    "销售总监",
    "运营经理",
    "董事长助理",
    "项目经理",
    "质量经理",
    "人力资源经理",
)
TITLES_EN = (
    "General Manager",
    "Deputy General Manager",
    "Purchasing Manager",
    "Procurement Specialist",
    "CFO",
    "Finance Manager",
    "CTO",
    "IT Manager",
    "Office Manager",
    "Sales Director",
    "Operations Manager",
    "Project Manager",
    "Quality Manager",
    "HR Manager",
)
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
]

# Codes of the default tiers and lifecycle stages (customers migration 0010).
_TIERS = ["A"] * 10 + ["B"] * 30 + ["C"] * 60
_STAGES = (
    ["lead"] * 12
    + ["prospect"] * 20
    + ["customer"] * 10
    + ["active"] * 43
    + ["at_risk"] * 8
    + ["churned"] * 7
)

# Serial numbers become the organisation-code part of credit codes through a bijection on
# 31**9, so every serial gives a different, random-looking code.
_ORG_SPACE = 31**9
_ORG_MULTIPLIER = 1_000_000_007
_ORG_OFFSET = 4_294_967_291


class DemoData:
    """Generates realistic, valid account and contact values. Deterministic for a seed."""

    def __init__(self, seed: int | None = None, *, first_serial: int = 1) -> None:
        self.rng = random.Random(seed)  # not for secrets: demo data only
        self.serial = first_serial

    # identifiers

    def credit_code(self, division: str, kind: str = "91") -> str:
        """An 18-character unified social credit code, unique per serial, with its check char."""
        number = (self.serial * _ORG_MULTIPLIER + _ORG_OFFSET) % _ORG_SPACE
        self.serial += 1
        org = []
        for _ in range(9):
            number, digit = divmod(number, 31)
            org.append(USCC_ALPHABET[digit])
        body = kind + division + "".join(org)
        return body + uscc_check_char(body)

    def mobile(self) -> str:
        return f"+86{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"

    def landline(self, city: City) -> str:
        # Some local ranges are not given out (Shanghai's 800…, say) and the services refuse
        # them: draw again, as a person would dial another real number.
        for _attempt in range(20):
            first = self.rng.randint(2, 8)
            rest = self.rng.randrange(10 ** (city.local_digits - 1))
            number = f"+86{city.area_code}{first}{rest:0{city.local_digits - 1}d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                return number
        return self.mobile()

    # people

    def person_zh(self) -> tuple[str, str]:
        """(name, e-mail local part) of a Chinese person."""
        surname, surname_py = self.rng.choice(SURNAMES)
        given, given_py = self.rng.choice(GIVEN_NAMES)
        local = f"{given_py}.{surname_py}" if self.rng.random() < 0.5 else f"{surname_py}{given_py}"
        return surname + given, local

    def person_en(self) -> tuple[str, str]:
        first = self.rng.choice(FIRST_NAMES_EN)
        last = self.rng.choice(SURNAMES_EN)
        return f"{first} {last}", f"{first}.{last}".lower()

    # records

    def city_for(self, provinces: tuple[str, ...] = ()) -> City:
        if provinces and self.rng.random() < 0.75:
            return self.rng.choice(CITIES_BY_PROVINCE[self.rng.choice(provinces)])
        return self.rng.choice(CITIES)

    def account(self, provinces: tuple[str, ...] = ()) -> dict:
        """Values for `account_create` / `Account(...)`, plus "_english" and "_domain" hints."""
        rng = self.rng
        city = self.city_for(provinces)
        district, district_en = rng.choice(city.districts)
        road, road_en = rng.choice(ROADS)
        number = rng.randint(1, 2999)
        roll = rng.random()
        english = False
        kind = "91"
        if roll < 0.03:
            pattern, industry, kind = rng.choice(PUBLIC_BODIES)
            name = pattern.format(city=city.name, district=district)
            short_name = ""
            domain = f"{city.name_en.lower().replace(chr(39), '')}.gov.cn"
            website = f"https://www.{domain}" if kind == "11" else ""
        else:
            brand, brand_py, brand_en = rng.choice(BRANDS)
            trade, trade_short, trade_en, industry = rng.choice(TRADES)
            english = roll > 0.72
            if english:
                style = rng.random()
                if style < 0.6:
                    name = f"{city.name_en} {brand_en} {trade_en} Co., Ltd."
                elif style < 0.85:
                    name = f"{brand_en} {trade_en} ({city.name_en}) Co., Ltd."
                else:
                    name = f"{brand_en} {trade_en} Group Co., Ltd."
                short_name = brand_en
                host = brand_en.lower().replace(" ", "") + trade_short
                domain = f"{host}.com"
            else:
                suffix = rng.choice(ZH_SUFFIXES)
                if rng.random() < 0.15:
                    name = f"{brand}{trade}（{city.name}）{suffix}"
                elif rng.random() < 0.1:
                    name = f"{city.name}{district.rstrip('区')}{brand}{trade}{suffix}"
                else:
                    name = f"{city.name}{brand}{trade}{suffix}"
                short_name = f"{brand}{trade}"
                domain = f"{brand_py}{trade_short}.{'com.cn' if rng.random() < 0.6 else 'com'}"
            website = f"https://www.{domain}" if rng.random() < 0.85 else ""
        if english:
            address = f"{number} {road_en}, {district_en}, {city.name_en}"
        else:
            address = f"{city.name}市{district}{road}{number}号"
            if rng.random() < 0.5:
                address += f"{rng.choice('ABCDE')}座{rng.randint(2, 38)}层"
        return {
            "name": name,
            "short_name": short_name[:60],
            "credit_code": self.credit_code(city.division, kind),
            "industry": industry,
            "province": city.province,
            "city": f"{city.name}市",
            "address": address,
            "phone": self.landline(city) if rng.random() < 0.8 else self.mobile(),
            "website": website,
            "tier": rng.choice(_TIERS),
            "lifecycle_stage": rng.choice(_STAGES),
            "_english": english,
            "_domain": domain,
        }

    def contact(self, account: dict) -> dict:
        """Values for `contact_create` / `Contact(...)` of someone working at `account`."""
        rng = self.rng
        english = account.get("_english", False)
        if english and rng.random() < 0.8:
            name, local = self.person_en()
            title = rng.choice(TITLES_EN)
        else:
            name, local = self.person_zh()
            title = rng.choice(TITLES_ZH)
        phones = [self.mobile()]
        if rng.random() < 0.2:
            phones.append(self.mobile())
        emails = [f"{local}@{account['_domain']}"]
        if rng.random() < 0.1:
            emails.append(
                f"{local.replace('.', '')}{rng.randint(1, 99)}@{rng.choice(('163.com', 'qq.com', 'gmail.com'))}"
            )
        return {"name": name, "title": title, "phones": phones, "emails": emails}


def account_fields(values: dict) -> dict:
    """The generated values without the hints (keys starting with "_")."""
    return {key: value for key, value in values.items() if not key.startswith("_")}


def next_serial() -> int:
    """A credit-code serial past every account so far, so repeated runs stay unique."""
    return (Account.objects.aggregate(top=Max("id"))["top"] or 0) + 1


def _split(total: int, parts: int, index: int) -> int:
    """How many of `total` items fall to part `index` of `parts` (spreading the remainder)."""
    return total * (index + 1) // parts - total * index // parts


Progress = Callable[[int, int, int], None]  # (accounts done, contacts done, accounts total)


def generate_with_services(
    *,
    owners: list[User],
    accounts: int,
    contacts: int,
    data: DemoData,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Create accounts and contacts one by one through the services (each audited).

    Each owner creates their own records (actor = owner), so every permission check runs as
    it would for that person. Contacts are spread over the accounts and linked to them.
    """
    owner_regions = {
        owner.pk: owner_region
        for owner, owner_region in zip(owners, owners_of(owners), strict=True)
    }
    made_contacts = 0
    with transaction.atomic():
        for index in range(accounts):
            owner = owners[index % len(owners)]
            values = data.account(owner_regions[owner.pk].provinces)
            account = customer_services.account_create(
                actor=owner, owner=owner, **account_fields(values)
            )
            for _ in range(_split(contacts, accounts, index)):
                customer_services.contact_create(
                    actor=owner, owner=owner, accounts=[account], **data.contact(values)
                )
                made_contacts += 1
            if progress and (index + 1) % 100 == 0:
                progress(index + 1, made_contacts, accounts)
    return {"accounts": accounts, "contacts": made_contacts}


def bulk_generate(
    *,
    owners: list[Owner],
    accounts: int,
    contacts: int,
    data: DemoData,
    interactions: int = 0,
    batch_size: int = 5000,
    progress: Progress | None = None,
    index: bool = True,
) -> dict[str, int]:
    """Insert accounts, contacts (with roles, blind index and consents) and interactions with
    batched `bulk_create`, one transaction per batch (see `rapport.web.demo_bulk`).

    Bypasses the services and their per-record audit events (the caller records one summary
    event). Each batch is added to the search index in the same transaction (unless `index`
    is false). Not resumable: `rapport demo` runs the same batches as a job.
    """
    from .demo_bulk import bulk_generate as generate

    return generate(
        owners=owners,
        accounts=accounts,
        contacts=contacts,
        data=data,
        interactions=interactions,
        batch_size=batch_size,
        progress=progress,
        index=index,
    )


# --- tags -------------------------------------------------------------------------------------

# (name, English name, colour, parent name): the small demo's bilingual tag tree.
DEMO_TAGS: tuple[tuple[str, str, str, str | None], ...] = (
    ("行业", "Industry", "blue", None),
    ("制造业", "Manufacturing", "orange", "行业"),
    ("信息技术", "Information technology", "azure", "行业"),
    ("金融", "Finance", "green", "行业"),
    ("零售", "Retail", "pink", "行业"),
    ("来源", "Source", "teal", None),
    ("展会", "Trade fair", "cyan", "来源"),
    ("官网", "Website", "indigo", "来源"),
    ("转介绍", "Referral", "lime", "来源"),
    ("电话营销", "Cold call", "yellow", "来源"),
    ("VIP", "", "purple", None),
    ("重点跟进", "Follow up", "red", None),
)
INDUSTRY_TAGS = {
    Industry.MANUFACTURING: "制造业",
    Industry.TECHNOLOGY: "信息技术",
    Industry.FINANCE: "金融",
    Industry.RETAIL: "零售",
}
SOURCE_TAGS = ("展会", "官网", "转介绍", "电话营销")


def build_tags(*, admin: User) -> dict[str, Tag]:
    """Create the demo tag tree through the services (as `admin`); idempotent."""
    tags: dict[str, Tag] = {}
    for name, name_en, colour, parent_name in DEMO_TAGS:
        parent = tags[parent_name] if parent_name else None
        existing = Tag.objects.filter(parent=parent, name=name).first()
        tags[name] = existing or tag_services.tag_create(
            actor=admin, name=name, name_en=name_en, colour=colour, parent=parent
        )
    return tags


def tag_demo_records(*, owners: list[User], tags: dict[str, Tag], data: DemoData) -> int:
    """Tag the owners' accounts and contacts as their owners would (bulk, through the
    services, each change audited): industry from the account, a lead source for most,
    VIP for strategic accounts, follow-up for accounts at risk. Returns the links made."""
    made = 0
    with transaction.atomic():
        for owner in owners:
            chosen: dict[str, list] = {}
            for account in Account.objects.filter(owner=owner).order_by("id"):
                names = []
                if account.industry in INDUSTRY_TAGS:
                    names.append(INDUSTRY_TAGS[account.industry])
                if data.rng.random() < 0.6:
                    names.append(data.rng.choice(SOURCE_TAGS))
                if account.tier == "A":
                    names.append("VIP")
                if account.lifecycle_stage == "at_risk":
                    names.append("重点跟进")
                for name in names:
                    chosen.setdefault(name, []).append(account)
            for name, accounts in chosen.items():
                made += len(
                    tag_services.records_tag(actor=owner, records=accounts, tags=[tags[name]])
                )
            contacts_by_tag: dict[str, list] = {}
            for contact in Contact.objects.filter(owner=owner).order_by("id"):
                if data.rng.random() < 0.4:
                    contacts_by_tag.setdefault(data.rng.choice(SOURCE_TAGS), []).append(contact)
                if data.rng.random() < 0.1:
                    contacts_by_tag.setdefault("VIP", []).append(contact)
            for name, contacts in contacts_by_tag.items():
                made += len(
                    tag_services.records_tag(actor=owner, records=contacts, tags=[tags[name]])
                )
    return made
