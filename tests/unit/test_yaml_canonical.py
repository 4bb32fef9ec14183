"""The canonical YAML text behind every diff: same values, same text; different values, different text."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from tui.core.diff import normalise
from tui.core.yaml_canonical import Unsupported, canonical, parse

TRICKY = [
    "", " lead", "trail ", "a: b", "a #b", "a#b", "#x", "-x", "- x", "42", "4.5", "true", "null", "~",
    "x\ny", "x\n", "x\n\n", " x\ny", "tab\tx", "quote'\"", "ünï ✓", "[x]", "{x}", "*x", "&x", "!x", "%x",
    "@x", "`x", "|x", ">x", "?x", ",x", "0x1F", ".inf", "http://a:b/c", "k:", "a: ",
]  # fmt: skip


def random_doc(rng: random.Random, depth: int = 0) -> Any:
    """Plain data whose YAML 1.1 and 1.2 readings agree (no yes/no/on/off words, dates or 1_000)."""
    word = "".join(rng.choice("abcdeghijk") for _ in range(rng.randint(1, 6)))
    scalars = [rng.choice(TRICKY), word, rng.randint(-5, 10**6), rng.random() * 100, True, False, None]
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(scalars)
    if rng.random() < 0.5:
        return [random_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = {rng.choice([k for k in TRICKY if "\n" not in k] + [word, word + "x"]) for _ in range(rng.randint(0, 4))}
    return {key: random_doc(rng, depth + 1) for key in keys}


@pytest.mark.parametrize("seed", range(40))
def test_the_canonical_text_reads_back_as_the_same_values(seed: int) -> None:
    rng = random.Random(seed)
    doc = random_doc(rng)
    for style in (False, True, None):  # block, flow, mixed: the source layout does not matter
        text = yaml.safe_dump(doc, default_flow_style=style, sort_keys=False, allow_unicode=rng.random() < 0.5)
        assert yaml.safe_load(canonical(text)) == doc, text


def test_order_quoting_and_layout_do_not_change_the_text() -> None:
    a = "name: Bot\nlabels: [a, 'b']\ndo:\n  - set: {name: x, value: 1}\nscript: \"one\\ntwo\\n\"\n"
    b = 'script: |\n  one\n  two\ndo:\n- set:\n    value: 1\n    name: \'x\'\nlabels:\n  - "a"\n  - b\nname: "Bot"\n'
    assert canonical(a) == canonical(b)
    expected = "do:\n- set:\n    name: x\n    value: 1\nlabels:\n- a\n- b\nname: Bot\nscript: |\n  one\n  two\n"
    assert canonical(a) == expected


def test_values_are_read_as_prisme_ai_reads_them_yaml_1_2() -> None:
    assert canonical("v: 42") != canonical("v: '42'")  # a number is not a string
    assert canonical("v: yes") == canonical("v: 'yes'")  # YAML 1.2: yes is a string, not true
    assert canonical("on: 1") == "on: 1\n"  # PyYAML's YAML 1.1 would turn the key into true
    assert canonical("v: 0x1F\nw: 1.50\nx: ~\ny: TRUE") == "v: 31\nw: 1.5\nx: null\ny: true\n"


def test_anchors_are_expanded_and_tags_fall_back_to_pyyaml() -> None:
    assert canonical("a: &x {k: 1}\nb: *x\n") == "a:\n  k: 1\nb:\n  k: 1\n"
    with pytest.raises(Unsupported):
        parse("v: !!binary aGk=\n")
    assert normalise("a.yml", b"v: !!binary aGk=\n") == "v: !!binary |\n  aGk=\n"  # no crash, still one text


def test_invalid_yaml_is_shown_as_it_is() -> None:
    assert normalise("a.yml", b"a: [unclosed\n") == "a: [unclosed\n"
