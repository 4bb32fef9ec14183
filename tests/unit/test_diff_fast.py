"""The diff's fast path (``yaml_canonical.parse_simple``, no libyaml events) against the reference it replaces.

Differential: many seeded random DSUL-like trees, written by PyYAML in several styles, then mutated line by
line; for each text the canonical text (or "not YAML") and each pair's diff must be what the reference
(``parse_simple`` off) gives."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from tui.core import diff as diff_module
from tui.core import yaml_canonical
from tui.core.diff import diff_files, normalise
from tui.core.ignore import Ignore, Rule

WORDS = ["set", "name", "value", "do", "emit", "event", "description", "args", "when", "slug", "labels", "url"]
TRICKY = [
    "", " lead", "trail ", "a: b", "a #b", "a#b", "#x", "-x", "- x", "-", "42", "007", "+1", "4.5", "1e3",
    "0x1F", "0o17", ".inf", "-.Inf", ".NaN", "true", "True", "yes", "no", "on", "null", "Null", "~", "x\ny",
    "x\n", "x\n\n", "\nx", " x\ny", "x\n  y\n", "tab\tx", "quote'\"", "back\\slash", "ünï ✓ é", "[x]", "{x}",
    "*x", "&x", "!x", "%x", "@x", "`x", "|x", ">x", "?x", ",x", ":x", "a:b", "http://a:b/c", "k:", "a: ",
    "Hello (IMPORT)", "x (IMPORT) (IMPORT)", "---", "...", "a,b", "2024-01-02", "1_000", "\x85", "\u2028",
]  # fmt: skip


def random_tree(rng: random.Random, depth: int = 0) -> Any:
    word = "".join(rng.choice("abcdeghijk") for _ in range(rng.randint(1, 6)))
    scalars = [rng.choice(TRICKY), word, rng.randint(-5, 10**6), rng.random() * 100, True, False, None, []]
    if depth > 3 or rng.random() < 0.25:
        return rng.choice(scalars)
    if rng.random() < 0.45:
        return [random_tree(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [rng.choice(WORDS + [k for k in TRICKY if "\n" not in k] + [word]) for _ in range(rng.randint(0, 5))]
    return {key: random_tree(rng, depth + 1) for key in keys}


def automation(rng: random.Random) -> dict[str, Any]:
    steps = [{"set": {"name": f"v{k}", "value": random_tree(rng, 3)}} for k in range(rng.randint(1, 8))]
    doc = {"slug": "a", "name": rng.choice(["Auto", "Auto: x", "l'auto", "ünï"]), "do": steps}
    if rng.random() < 0.5:
        doc["description"] = rng.choice(["one line", "two\nlines\n", "keep\n\n", "strip", " lead\nx"])
    return doc


def writings(rng: random.Random, tree: Any) -> list[str]:
    """One tree as several writers print it: key order, quoting styles, flow, width, unicode."""
    texts = [
        yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=100),
        yaml.safe_dump(tree, sort_keys=True, allow_unicode=False),
        yaml.safe_dump(tree, sort_keys=False, default_style='"'),
        yaml.safe_dump(tree, sort_keys=False, default_style="'"),
        yaml.safe_dump(tree, sort_keys=False, default_flow_style=None, width=30),
        yaml.safe_dump(tree, sort_keys=False, indent=4, allow_unicode=True),
    ]
    if yaml_canonical.parse_simple(texts[0]) is not None or rng.random() < 0.3:
        try:
            texts.append(yaml_canonical.canonical(texts[0]))  # already canonical
        except (yaml.YAMLError, ValueError):
            pass
    return texts


def mutated(rng: random.Random, text: str) -> str:
    """A line edited as a person (or a bug) might: often invalid YAML, sometimes another valid one."""
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    edit = rng.choice(["indent", "dedent", "dup", "drop", "char", "crlf", "tab", "comment", "anchor", "join"])
    line = lines[at]
    if edit == "indent":
        lines[at] = " " + line
    elif edit == "dedent":
        lines[at] = line[1:]
    elif edit == "dup":
        lines.insert(at, line)
    elif edit == "drop":
        del lines[at]
    elif edit == "char":
        pos = rng.randint(0, len(line))
        lines[at] = line[:pos] + rng.choice(":#'\"-|>&*!{}[], \\?") + line[pos:]
    elif edit == "crlf":
        return text.replace("\n", "\r\n")
    elif edit == "tab":
        lines[at] = line.replace("  ", "\t", 1)
    elif edit == "comment":
        lines[at] = line + " # note"
    elif edit == "anchor":
        lines[at] = line.replace(": ", ": &x ", 1)
    elif edit == "join" and at + 1 < len(lines):
        lines[at : at + 2] = [line + " " + lines[at + 1].strip()]
    return "\n".join(lines)


def reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_canonical, "parse_simple", lambda text, memo=None: None)


def outcome(path: str, text: str) -> tuple[str, str]:
    try:
        return "ok", normalise(path, text.encode("utf-8", "surrogatepass"))
    except Exception as error:  # the same error, or the same text, is the point
        return type(error).__name__, str(error)


def texts_for(seed: int) -> list[str]:
    rng = random.Random(seed)
    tree = automation(rng) if seed % 2 else random_tree(rng)
    texts = writings(rng, tree)
    texts += [mutated(rng, rng.choice(texts)) for _ in range(12)]
    export = {"slug": "a", "do": export_tree(rng), "name": export_tree(rng, 3)}
    exports = [yaml.dump(export, Dumper=ExportDumper, sort_keys=rng.random() < 0.3, allow_unicode=True, width=1000)]
    exports += [mutated(rng, exports[0]) for _ in range(8)]  # mostly inside the fast path's subset, or just out
    return texts + exports


@pytest.mark.parametrize("seed", range(150))
def test_the_fast_path_gives_the_reference_canonical_text(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = texts_for(seed)
    fast = [outcome("automations/a.yml", t) for t in texts]
    reference(monkeypatch)
    assert fast == [outcome("automations/a.yml", t) for t in texts]


EDGE_CASES = [
    "", "\n", "a: 1", "a: 1\n", "b: 1\na: 2\n", "a: 1\na: 2\n", "a: 'x'\nb: \"x\"\nc: x\n", "a: '42'\nb: 42\n",
    "a: |\n  x\n  y\n", "a: |-\n  x\n", "a: |+\n  x\n\n\nb: 1\n", "a: |+\n  x\n\n", "a: |\n\n  x\n", "a: |\nb: 1\n",
    "a: |2\n   x\n", "a: >\n  x\n  y\n", "a: &r\n  b: 1\nc: *r\n", "a: !!str 1\n", "a: [1, 2]\n", "a: {b: 1}\n",
    "a: []\nb: {}\n", "- a\n- - b\n  - c\n-\n  d: 1\n-\n", "a:\n- 1\n- 2\nb: 3\n", "a:\n  - 1\nb:\n  c: 2\n",
    "a: b\n  c\n", "a: 'b\n  c'\n", "a: \"b\\nc\"\n", "a: \"\\u00e9\\t\\\"\"\n", "a: \"\\x41\"\n", "a: \"\\/\"\n",
    "a: 1 # c\n", "# c\na: 1\n", "a: 1\r\nb: 2\r\n", "a:\t1\n", "---\na: 1\n", "a: 1\n---\nb: 2\n", "x\n",
    "  a: 1\n", "a:\n    b: 1\n  c: 2\n", "a: -\n", "a: - b\n", "a: -1\n", "-1: a\n", "? a\n: b\n", "a: b: c\n",
    "a: b:\n", "a,b: 1\n", "a: ~\nb: null\nc:\nd: Null\n", "a: 0x1F\nb: 0o17\nc: 1e3\nd: .inf\n", "a:   spaced\n",
    "a: 'it''s'\n", "a: 'it's'\n", "a: \"q\"q\"\n", "- 'a'\n- \"b\"\n- |\n  c\n", "a:\n-\n  - 1\n", "\ufeffa: 1\n",
    "a: x\x85y\n", "a: \"x\"\n  b: 1\n", "a: [\n  1]\n", "key with spaces: v\n", "a: 1\n\n\nb: 2\n\n",
    "description: Hello (IMPORT)\nname: w\n", "a:\n  b:\n    c:\n      - d: |\n          e\n        f: g\n",
]  # fmt: skip


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_give_the_reference_result(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = outcome("pages/p.yml", text)
    reference(monkeypatch)
    assert fast == outcome("pages/p.yml", text)


@pytest.mark.parametrize("seed", range(30))
def test_workspace_diffs_are_the_reference_diffs(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole diffs, identity and ignore rules included: index.yml's (IMPORT) suffix, labels, a user rule."""
    rng = random.Random(1000 + seed)
    old: dict[str, bytes] = {}
    new: dict[str, bytes] = {}
    for number in range(8):
        texts = texts_for(seed * 8 + number)
        old[f"automations/a{number}.yml"] = rng.choice(texts).encode()
        new[f"automations/a{number}.yml"] = rng.choice(texts).encode()
    index = {"name": "W", "slug": "w", "description": "Hi", "labels": ["a"], "config": {"value": {"url": "x"}}}
    old["index.yml"] = yaml.safe_dump(index).encode()
    index.update(description="Hi (IMPORT)", labels=["a", "b"], customDomains=["d"], config={"value": {"url": "y"}})
    new["index.yml"] = yaml.safe_dump(index, sort_keys=False).encode()
    ignore = Ignore(True, (Rule.parse("automations/a1.yml:name"),))

    def run() -> tuple[Any, ...]:
        result = diff_files(old, new, ignore=ignore)
        return result.patch(), result.stat(), result.ignored, [(f.path, f.status) for f in result.files]

    fast = run()
    reference(monkeypatch)
    assert fast == run()


class ExportDumper(yaml.SafeDumper):
    """Block YAML as the platform's exports write it (js-yaml): multi-line strings as literal blocks."""


ExportDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value.strip("\n ") else None
    ),
)


def export_tree(rng: random.Random, depth: int = 0) -> Any:
    word = " ".join("w" + "".join(rng.choice("abcdeghijk:é'/") for _ in range(rng.randint(0, 6))) for _ in range(3))
    scalars = [word, rng.randint(-5, 10**6), rng.random() * 100, True, False, None, "42", "line\nother\n", "x: y"]
    if depth > 3 or rng.random() < 0.25:
        return rng.choice(scalars)
    if rng.random() < 0.45:
        return [export_tree(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(WORDS): export_tree(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_exports_take_the_fast_path() -> None:
    """What the platform exports (block YAML, literal blocks, quoted where needed) is read without libyaml's
    events, to the same tree as ``parse``."""
    rng = random.Random(5)
    for _ in range(200):
        tree = {"slug": "a", "do": export_tree(rng), "name": export_tree(rng, 3)}
        text = yaml.dump(tree, Dumper=ExportDumper, sort_keys=False, allow_unicode=True, width=1000)
        assert yaml_canonical.parse_simple(text) == yaml_canonical.parse(text), text


def test_a_file_over_the_node_limit_is_refused_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.core import limits

    monkeypatch.setattr(limits, "current", lambda: limits.Limits(yaml_max_nodes=10))
    monkeypatch.setattr(yaml_canonical, "current_limits", lambda: limits.Limits(yaml_max_nodes=10))
    text = "".join(f"k{n}: v\n" for n in range(20))
    assert yaml_canonical.parse_simple(text) is None
    with pytest.raises(yaml_canonical.TooComplex):
        diff_module.normalise("a.yml", text.encode())


@pytest.mark.parametrize("text", ["a: !!bool -x\n", "a: !!int 0x\n", "a: !!float x\n", "a: !!timestamp 2024-13-45\n"])
def test_a_tag_pyyaml_cannot_build_is_shown_as_text(text: str) -> None:
    """PyYAML's constructors raise KeyError or ValueError on these (found by the random test above): the
    diff shows the file as it is, as for any text that is not valid YAML, instead of a traceback."""
    assert normalise("a.yml", text.encode()) == text


# ------------------------------------------------------------------- verbatim: canonical sequences left unread
CANONICAL_EDITS = [
    ("value: ", "value: Null"), ("value: ", "value: TRUE"), ("value: ", "value: 007"), ("value: ", "value: 1.50"),
    ("value: ", "value: -0"), ("value: ", "value: '"), ("name: ", "name:  "), ("name: ", "name: ~"),
    ("- set:", "- set: "), ("- set:", "-  set:"), ("    name", "   name"), ("    name", "     name"),
    ("    value", "    alue"), ("name:", "zname:"), ("name:", "value:"), ("set:", "set: []"),
    ("value: ", "value: x: y"), ("value: ", "value: #"), ("value: ", "value: a #b"),
    ("value: ", "value: {}"), ("value: ", "value: - x"),
]  # fmt: skip


def canonical_automations(seed: int) -> list[str]:
    """Big automations already in the canonical form, and near misses: one line edited so that it is not."""
    rng = random.Random(seed)

    def value() -> Any:  # mostly what the canonical form writes plain, sometimes anything
        plain = [f"w{rng.randint(0, 99)} x", rng.randint(-5, 99), True, None, [], {}, {"to": "x", "a": 1}, ["a", 2]]
        return random_tree(rng, 3) if rng.random() < 0.03 else rng.choice(plain)

    steps = [{"set": {"name": f"v{k}", "value": value()}} for k in range(rng.randint(5, 40))]
    doc = {"slug": "a", "name": "Auto", "do": steps, "arguments": {"x": {"type": "string"}}}
    text = yaml_canonical.canonical(yaml.safe_dump(doc))
    texts = [text, text.replace("slug: a\n", "Slug: b\nslug: a\n")]
    head, *steps_text = text.split("\n- ")  # the steps reordered, and one fewer: every item known to the other side
    texts += [
        "\n- ".join([head, *steps_text[1:2], *steps_text[:1], *steps_text[2:]]),
        "\n- ".join([head, *steps_text[1:]]),
    ]
    for _ in range(12):
        old, new = rng.choice(CANONICAL_EDITS)
        places = [n for n in range(len(text)) if text.startswith(old, n)]
        if places:
            at = rng.choice(places)
            texts.append(text[:at] + new + text[at + len(old) :])
    texts += [mutated(rng, text) for _ in range(6)]
    return texts


def verbatim(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    monkeypatch.setattr(yaml_canonical, "VERBATIM_MIN_LINES", 0 if on else 10**9)


@pytest.mark.parametrize("seed", range(60))
def test_canonical_sequences_left_unread_give_the_reference_text(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = canonical_automations(seed) + texts_for(seed)
    verbatim(monkeypatch, True)
    fast = [outcome("automations/a.yml", t) for t in texts]
    verbatim(monkeypatch, False)
    assert fast == [outcome("automations/a.yml", t) for t in texts]


@pytest.mark.parametrize("seed", range(15))
def test_diffs_with_canonical_sequences_are_the_reference_diffs(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairs of near-canonical automations, index.yml and an ignore rule: the same patch, stat and count."""
    rng = random.Random(2000 + seed)
    texts = canonical_automations(seed)
    old = {f"automations/a{n}.yml": rng.choice(texts).encode() for n in range(6)}
    new = {f"automations/a{n}.yml": rng.choice(texts).encode() for n in range(6)}
    old["index.yml"], new["index.yml"] = texts[0].encode(), rng.choice(texts).encode()
    for name, other in (("reordered", texts[2]), ("fewer", texts[3])):  # every new item proven by the old side
        old[f"automations/{name}.yml"], new[f"automations/{name}.yml"] = texts[0].encode(), other.encode()

    def run(ignore: Ignore) -> tuple[Any, ...]:
        result = diff_files(old, new, ignore=ignore)
        return result.patch(), result.stat(), result.ignored, [(f.path, f.status) for f in result.files]

    for ignore in (Ignore(), Ignore(True, (Rule.parse("automations/a1.yml:do"),)), Ignore.nothing()):
        verbatim(monkeypatch, True)
        fast = run(ignore)
        verbatim(monkeypatch, False)
        assert fast == run(ignore)


def test_a_big_canonical_automation_is_not_read_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 20,000-step automation in the canonical form, one step changed: the steps are compared as text; what
    is read is the other entries and one item per distinct shape, not the 60,000 lines of steps."""
    steps = [{"set": {"name": f"var{k}", "value": f"text {k * 7919 % 10007} for step {k}"}} for k in range(20_000)]
    old_text = yaml_canonical.canonical(yaml.safe_dump({"slug": "big", "name": "Big", "do": steps}))
    new_text = old_text.replace("text 7919 for step 1\n", "text 7919 for step 1 changed\n")
    read: list[int] = []
    parse_simple = yaml_canonical.parse_simple

    def counting(text: str, memo: Any = None) -> Any:
        read.append(text.count("\n"))
        return parse_simple(text, memo)

    monkeypatch.setattr(yaml_canonical, "parse_simple", counting)
    result = diff_files({"a.yml": old_text.encode()}, {"a.yml": new_text.encode()})
    assert result.stat() == {"files": 1, "insertions": 1, "deletions": 1}
    assert "+    value: text 7919 for step 1 changed" in result.patch()
    assert sum(read) < 100
