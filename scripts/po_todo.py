"""List untranslated msgids of the Chinese catalogue, or fill them from a JSON file.

    python scripts/po_todo.py list            # JSON {msgid: ""} of what is missing
    python scripts/po_todo.py fill FILE.json  # write translations {msgid: msgstr} into the .po
Plural entries are filled with the same text for every form (Chinese has one form).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale/zh_Hans/LC_MESSAGES/django.po"


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line) for line in lines)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def entries(text: str):
    yield from text.split("\n\n")


def parse(block: str) -> dict:
    lines = block.split("\n")
    data: dict = {"fuzzy": any(line.startswith("#,") and "fuzzy" in line for line in lines)}
    key = None
    for line in lines:
        match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
        if match:
            key = match.group(1)
            data[key] = [match.group(2)]
        elif line.startswith('"') and key:
            data[key].append(line)
    return data


def main() -> None:
    text = PO.read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    if sys.argv[1] == "list":
        todo = {}
        for block in blocks[1:]:
            data = parse(block)
            if "msgid" not in data:
                continue
            msgid = _unquote(data["msgid"])
            strs = [_unquote(v) for k, v in data.items() if k.startswith("msgstr")]
            if data["fuzzy"] or not all(strs):
                todo[msgid] = ""
        print(json.dumps(todo, ensure_ascii=False, indent=1))
        return
    translations = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    out = [blocks[0]]
    for block in blocks[1:]:
        data = parse(block)
        msgid = _unquote(data["msgid"]) if "msgid" in data else None
        if msgid is not None and msgid in translations and translations[msgid]:
            kept = [
                line
                for line in block.split("\n")
                if not line.startswith(("msgstr", '"')) or line.startswith('"') and False
            ]
            # rebuild: comments + msgctxt/msgid/msgid_plural lines, then msgstr lines
            head = []
            key = None
            for line in block.split("\n"):
                if line.startswith("#,") and "fuzzy" in line:
                    flags = [f.strip() for f in line[2:].split(",") if f.strip() != "fuzzy"]
                    if flags:
                        head.append("#, " + ", ".join(flags))
                    continue
                if line.startswith("#|"):
                    continue
                match = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) ", line)
                if match:
                    key = match.group(1)
                if key and key.startswith("msgstr"):
                    continue
                head.append(line)
            value = translations[msgid]
            if "msgid_plural" in data:
                head.append(f"msgstr[0] {_quote(value)}")
            else:
                head.append(f"msgstr {_quote(value)}")
            del kept
            out.append("\n".join(head))
        else:
            out.append(block)
    PO.write_text("\n\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
