"""Bad input, found by fuzzing (hypothesis): every parser answers with its value or its own
error, and every widget answers every typed text and every slider value with a message,
never a traceback, and keeps working afterwards."""
import functools
import importlib
import math
import re

import ipywidgets as widgets
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from helpers import numbers, surnames, translation
from helpers.bidir_widget import check_name
from helpers.charmodel_widget import clean_prefix
from helpers.gates_widget import clean
from helpers.live import InputError
from helpers.padding_widget import MAX_B, MAX_T, parse_lengths
from helpers.rnn_widget import parse_phrase

# derandomized, no example database: the same examples on every run and every machine
FAST = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
WIDGET = settings(FAST, max_examples=15)

# inputs that broke a parser once, and their cousins
NASTY = ["²", "3²", "٣", "５", "9" * 5000, "--5", "-5", "+5", "5-", "0", "00012", "1e3", "nan", "inf", "-0",
         "5,,3", ";", " , ", "\x00", "\u200b", "İ", "ß", "ﬁ", "three\u00a0hundred", "\n", "🙂", "a" * 100000,
         "three " * 500, "-" * 50, "1" * 4301, "9999", "10000", "1, 2", "13, 14", "2 " * 9]
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(NASTY),
                 st.from_regex(r"[-+0-9,; ²٣]{0,16}", fullmatch=True),
                 st.lists(st.sampled_from(["three", "hundred", "and", "-", ",", "one", "thousand", "x"]),
                          max_size=12).map(" ".join))


# -- parsers ---------------------------------------------------------------------------------
@functools.cache
def _vocab():
    return numbers.build_vocab()


@FAST
@given(TEXT)
def test_parse_phrase_returns_known_words_or_a_message(text):
    try:
        words = parse_phrase(text, _vocab())
    except InputError as err:
        assert str(err)
        return
    assert 1 <= len(words) and all(w in _vocab().index for w in words)


@FAST
@given(st.integers(1, numbers.MAX_NUMBER))
def test_parse_phrase_writes_out_every_number(n):
    assert parse_phrase(f" {n} ", _vocab()) == numbers.tokenize(numbers.phrase(n))


@FAST
@given(TEXT)
def test_parse_lengths_returns_lengths_in_range_or_a_message(text):
    try:
        lengths = parse_lengths(text)
    except InputError as err:
        assert str(err)
        return
    assert 1 <= len(lengths) <= MAX_B and all(2 <= L <= MAX_T for L in lengths)


@FAST
@given(st.lists(st.integers(2, MAX_T), min_size=1, max_size=MAX_B), st.sampled_from([",", ", ", " ", ";"]))
def test_parse_lengths_reads_what_it_shows(lengths, sep):
    assert parse_lengths(sep.join(map(str, lengths))) == lengths


@FAST
@given(TEXT, st.integers(-3, 20))
def test_name_and_prefix_cleaners_return_a_z_or_a_message(text, k):
    for parse in (lambda t: check_name(t, max(k, 1)), clean_prefix):
        try:
            name = parse(text)
        except InputError as err:
            assert str(err)
            continue
        assert name and set(name) <= set(surnames.ALPHABET)


@FAST
@given(TEXT)
def test_memory_sequence_cleaner(text):
    from helpers import memory

    try:
        s = clean(text)
    except InputError as err:
        assert str(err)
        return
    assert s and set(s) <= set(memory.SYMBOLS)


@functools.cache
def _source_vocab():
    return translation.load()["src_vocab"]


@FAST
@given(TEXT)
def test_parse_english_returns_ids_or_a_value_error(text):
    try:
        ids = translation.parse_english(text, _source_vocab())
    except ValueError as err:
        assert str(err)
        return
    assert len(ids) >= 1 and np.all((0 <= ids) & (ids < len(_source_vocab().words)))


FRACTION = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 2), st.none(),
                     st.sampled_from(["0.1", True]))


@settings(FAST, max_examples=25)
@given(FRACTION, st.integers(-5, 50))
def test_number_splits_are_disjoint_and_non_empty_or_refused(held_out, max_number):
    for split in (numbers.split_numbers, translation.split_numbers):
        try:
            parts = split(max_number=max_number, held_out=held_out)
        except ValueError as err:
            assert str(err)
            continue
        train, test = set(parts["train"].tolist()), set(parts["held_out"].tolist())
        assert train and test and not train & test


@functools.cache
def _all_names():
    return len({n for n, _ in surnames.load_all()})


@settings(FAST, max_examples=12)
@given(st.one_of(st.tuples(FRACTION, FRACTION, FRACTION), st.lists(st.floats(0, 1), max_size=4),
                 st.sampled_from([(1.2, -0.3, 0.1), (0.9, 0.9, 0.1), (0.5, 0.5, 0.0), (1e-9, 0.0, 1 - 1e-9)])))
def test_surname_splits_are_disjoint_and_non_empty_or_refused(fractions):
    try:
        parts = surnames.split(fractions=fractions)
    except ValueError as err:
        assert str(err)
        return
    train, val, test = (set(parts[k]) for k in ("train", "val", "test"))
    assert train and test and not (train & val or train & test or val & test)
    assert len(train) + len(val) + len(test) == _all_names()


# -- widgets ----------------------------------------------------------------------------------
# every helpers module with a demo() widget factory (the benchmark drives the same ones)
WIDGETS = sorted(p.stem for p in (ROOT / "helpers").glob("*.py")
                 if re.search(r"^def demo\(", p.read_text(), re.M))


@functools.cache
def _widget(module: str):
    """Each widget built once (demo weights: what a control does to the drawing does not depend on training)."""
    return importlib.import_module(f"helpers.{module}").demo()


def _value_strategy(control):
    """What a learner, or code in a cell, could put into this control."""
    if isinstance(control, widgets.Button) or not hasattr(control, "value"):
        return None
    if isinstance(control, widgets.Text):
        return TEXT
    if isinstance(control, (widgets.FloatSlider, widgets.FloatLogSlider, widgets.BoundedFloatText)):
        return st.floats(allow_nan=True, allow_infinity=True)
    if isinstance(control, widgets.Checkbox):
        return st.booleans()
    if hasattr(control, "options"):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return st.sampled_from(values + [None])
    if isinstance(control.value, int):
        return st.integers(-10**6, 10**6)
    return None


def _set(control, value) -> bool:
    try:
        control.value = value
    except Exception:  # noqa: BLE001 - refused by the control itself (a trait error): nothing to answer
        return False
    return True


@pytest.mark.parametrize("module", WIDGETS)
def test_every_control_value_gets_a_message_never_a_traceback(module):
    w = _widget(module)
    names = [n for n, c in w.controls.items() if _value_strategy(c) is not None]

    @settings(WIDGET, max_examples=6 if module == "caption_widget" else 15)   # its update decodes a beam
    @given(st.data())
    def one_change(data):
        name = data.draw(st.sampled_from(names), label="control")
        control = w.controls[name]
        value = data.draw(_value_strategy(control), label="value")
        _set(control, value)
        assert w.errors == [], f"{module}.{name} = {value!r}: {w.errors[-1]!r}"
        assert len(w.message.value) < 600
        for c in w.controls.values():            # nothing impossible is left behind
            v = getattr(c, "value", None)
            assert not (isinstance(v, float) and not math.isfinite(v))

    one_change()
    assert w.errors == []


@pytest.mark.parametrize("module,name", [("bptt_widget", "radius"), ("phase_widget", "scale"),
                                         ("phase_widget", "x"), ("onestep_widget", "tau"),
                                         ("charmodel_widget", "temperature"), ("tiny", "w")])
def test_nan_from_code_is_set_back_and_later_changes_work(module, name):
    w = _widget(module)
    slider = w.controls[name]
    good = slider.value
    slider.value = float("nan")
    assert slider.value == good and "cannot be nan" in w.message.value and w.errors == []
    new = round(slider.min + (slider.max - slider.min) / 3, 2)     # the next change works again
    if isinstance(slider, widgets.FloatLogSlider):
        new = round(slider.base ** new, 3)
    slider.value = new
    assert slider.value == pytest.approx(new) and "cannot be" not in w.message.value and w.errors == []


def test_the_inputs_that_once_raised_now_get_a_message():
    rnn_w, pad_w, cap_w = _widget("rnn_widget"), _widget("padding_widget"), _widget("caption_widget")
    for text, says in [("²", "not a word"), ("٣", "digits 0-9"), ("9" * 5000, "numbers from 1"),
                       ("--5", "not a word"), ("---", "no words")]:
        rnn_w.controls["phrase"].value = text
        assert says in rnn_w.message.value and rnn_w.errors == []
    rnn_w.controls["phrase"].value = "305"
    assert rnn_w.message.value == ""
    for text in ("²", "9" * 5000, "--5", "3, ²"):
        pad_w.controls["lengths"].value = text
        assert "not a whole number" in pad_w.message.value and pad_w.errors == []
    pad_w.controls["lengths"].value = "5, 3, 7, 2"
    assert pad_w.message.value == ""
    shape = cap_w.controls["shape0"]
    before = shape.value
    shape.value = None
    assert shape.value == before and "cannot be None" in cap_w.message.value and cap_w.errors == []
