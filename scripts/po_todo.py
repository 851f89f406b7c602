"""List untranslated msgids of the Chinese catalogue, or fill them from a JSON file.

    python scripts/po_todo.py list            # JSON {msgid: ""} of what is missing or fuzzy
    python scripts/po_todo.py fill FILE.json  # write translations {msgid: msgstr} into the .po

Keys are the msgid; an entry with a context is keyed "CONTEXT\\u0004MSGID" (gettext's own
convention). Chinese has one plural form, so a plural entry gets a single msgstr[0].
`fill` clears the fuzzy flag and the previous-msgid (#|) lines of the entries it writes, and
refuses (exit status 1, nothing written) a translation whose placeholders or leading/trailing
newlines differ from the msgid's, since msgfmt --check-format would reject it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale/zh_Hans/LC_MESSAGES/django.po"

_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}  # fmt: skip
# Python %-format directives as msgfmt's python-format check sees them.
_PYTHON_FORMAT = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)


def unquote(lines: list[str]) -> str:
    """The text of a PO string spread over one or more quoted lines."""
    out = []
    for line in lines:
        body = line.strip()[1:-1]
        i = 0
        while i < len(body):
            char = body[i]
            if char == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                    i += 2
                    continue
                octal = re.match(r"[0-7]{1,3}", body[i + 1 :])
                if octal:
                    out.append(chr(int(octal.group(0), 8)))
                    i += 1 + len(octal.group(0))
                    continue
            out.append(char)
            i += 1
    return "".join(out)


def quote(text: str) -> str:
    """One quoted PO line; msgfmt understands only C escapes, never JSON's \\uXXXX."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20:
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def parse(block: str) -> dict:
    """Flags and quoted strings of one entry; obsolete (#~) lines are not entries."""
    lines = block.split("\n")
    flags = {
        flag.strip() for line in lines if line.startswith("#,") for flag in line[2:].split(",")
    }
    data: dict = {"fuzzy": "fuzzy" in flags, "flags": flags}
    key = None
    for line in lines:
        match = _KEYWORD.match(line)
        if match:
            key = match.group(1)
            data[key] = [match.group(2)]
        elif line.startswith('"') and key:
            data[key].append(line)
        else:
            key = None
    return data


def entry_key(data: dict) -> str:
    msgid = unquote(data["msgid"])
    if "msgctxt" in data:
        return unquote(data["msgctxt"]) + "\x04" + msgid
    return msgid


def placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(
        (m.group("name") or "", m.group("type"))
        for m in _PYTHON_FORMAT.finditer(text)
        if m.group("type") != "%"
    )


def problems(data: dict, value: str) -> list[str]:
    """Why msgfmt --check-format (or a reader) would reject `value` for this entry."""
    msgid = unquote(data["msgid"])
    found = []
    for edge, test in (("start", str.startswith), ("end", str.endswith)):
        if test(msgid, "\n") != test(value, "\n"):
            found.append(f"the msgid and the translation differ in a newline at the {edge}")
    if "python-format" in data["flags"]:
        wanted = placeholders(msgid)
        if "msgid_plural" in data:
            # one form stands for all: it may use the plural's placeholders
            wanted = sorted(set(wanted) | set(placeholders(unquote(data["msgid_plural"]))))
            got = sorted(set(placeholders(value)))
        else:
            got = placeholders(value)
        if wanted != got:
            found.append(f"placeholders {got} instead of {wanted}")
    return found


def split_blocks(text: str) -> list[str]:
    return text.split("\n\n")


def todo() -> dict[str, str]:
    result = {}
    for block in split_blocks(PO.read_text(encoding="utf-8"))[1:]:
        data = parse(block)
        if "msgid" not in data:
            continue
        strs = [unquote(v) for k, v in data.items() if k.startswith("msgstr")]
        if data["fuzzy"] or not strs or not all(strs):
            result[entry_key(data)] = ""
    return result


def fill(translations: dict[str, str]) -> int:
    text = PO.read_text(encoding="utf-8")
    blocks = split_blocks(text)
    out = [blocks[0]]
    used: set[str] = set()
    errors: list[str] = []
    for block in blocks[1:]:
        data = parse(block)
        key = entry_key(data) if "msgid" in data else None
        value = translations.get(key) if key is not None else None
        if not value:
            out.append(block)
            continue
        used.add(key)
        for problem in problems(data, value):
            errors.append(f"{key!r}: {problem}")
        head = []
        section = None
        for line in block.split("\n"):
            if line.startswith("#,"):
                flags = [f.strip() for f in line[2:].split(",") if f.strip() not in ("", "fuzzy")]
                if flags:
                    head.append("#, " + ", ".join(flags))
                continue
            if line.startswith("#|"):
                continue
            match = _KEYWORD.match(line)
            if match:
                section = match.group(1)
            elif not line.startswith('"'):
                section = None
            if section and section.startswith("msgstr"):
                continue
            if line == "":
                continue  # the final newline of the file; put back below
            head.append(line)
        head.append(
            f"msgstr[0] {quote(value)}" if "msgid_plural" in data else f"msgstr {quote(value)}"
        )
        out.append("\n".join(head) + ("\n" if block.endswith("\n") else ""))
    for key in translations:
        if key not in used and translations[key]:
            print(f"not in the catalogue, skipped: {key!r}", file=sys.stderr)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        print(f"{len(errors)} problem(s); nothing was written.", file=sys.stderr)
        return 1
    PO.write_text("\n\n".join(out), encoding="utf-8")
    print(f"filled {len(used)} entries; {len(todo())} still to do.", file=sys.stderr)
    return 0


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "list":
        print(json.dumps(todo(), ensure_ascii=False, indent=1))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "fill":
        translations = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
        sys.exit(fill(translations))
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
