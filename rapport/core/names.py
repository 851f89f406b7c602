"""Company names for matching: the keys duplicate checks group and look up by.

    blocks("北京華信軟件有限責任公司")  →  NameKeys(key="北京华信软件", core="华信", sound="huaxin")

- `key`: the name folded (`normalize.company_key`: width, script, case, suffixes such as
  有限公司 / Co., Ltd. dropped) — equal keys are the same name;
- `core`: its distinctive words (places and trades such as 北京, 软件 set aside), so
  华信软件 and 北京华信软件 meet;
- `sound`: the core's pinyin, so 华信 and 华新 (a typo of the same sound) meet.

Accounts keep the three beside their name (written with it), so the check before a create
and the nightly scan find candidates by indexed equality instead of ranked text searches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import normalize
from .search import text as search_text

# Words in company names that say little about which company it is: places and trades.
# (A name made only of them is matched on all of its words.)
GENERIC_WORDS = frozenset(
    """
    中国 中华 国际 全球 亚洲 华东 华南 华北 华中 西南 西北 东北 北京 上海 天津 重庆 广州 深圳
    杭州 南京 苏州 武汉 成都 西安 长沙 郑州 济南 青岛 大连 沈阳 厦门 福州 宁波 无锡 合肥 昆明
    广东 浙江 江苏 山东 河南 河北 湖北 湖南 四川 福建 安徽 江西 辽宁 吉林 陕西 山西 云南 贵州
    科技 技术 软件 信息 网络 电子 数据 智能 数字 通信 系统 贸易 商贸 实业 发展 咨询 服务 管理
    投资 控股 工程 建设 建筑 文化 传媒 物流 医药 生物 机械 设备 材料 能源 环保 电气 汽车 食品
    农业 化工 金融 银行 保险 证券 教育 健康 医疗 制造 工业 产业 企业 集团 股份 有限 责任 公司
    新材料 供应链 电子商务 信息技术 网络科技 科技发展
    """.split()  # noqa: SIM905  (a word list reads better as text)
)
MAX_LENGTH = 200  # of each stored key


@dataclass(frozen=True)
class NameKeys:
    key: str
    core: str
    sound: str


def words(key: str) -> list[str]:
    """A folded name's words: Chinese runs segmented, other runs whole."""
    found: list[str] = []
    for run, chinese in search_text.runs(search_text.fold(key)):
        if chinese:
            found.extend(w for w in search_text.segmenter().cut(run) if w.strip())
        else:
            found.append(run)
    return found


def generic(word: str) -> bool:
    return word in GENERIC_WORDS or (
        len(word) > 2 and word[:-1] in GENERIC_WORDS and word[-1] in "省市区"
    )


def distinctive(key: str) -> str:
    """The key's distinctive words joined (all of them when every word is generic)."""
    return "".join(w for w in words(key) if not generic(w)) or key


def sound(text: str) -> str:
    """The pinyin of a text's Chinese ("" for none)."""
    return "".join(search_text._pinyin(text)[0]) if text else ""


@lru_cache(maxsize=65536)
def blocks(name: str) -> NameKeys:
    """The three keys of a company name ("" each for a name that folds to nothing)."""
    key = normalize.company_key(name)
    if not key:
        return NameKeys("", "", "")
    core = distinctive(key)
    spoken = sound(core)
    return NameKeys(
        key[:MAX_LENGTH],
        core[:MAX_LENGTH],
        spoken[:MAX_LENGTH] if spoken and spoken != core else "",
    )
