"""Any generated CSV either loads as exactly the expected arrays, or raises one DataError naming its first bad line."""

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fer.data.csv_form import load_csv
from fer.data.labels import PIXELS_PER_IMAGE, USAGES
from fer.errors import DataError

# Each way a row can be wrong, and the pixel, label and Usage text it then has.
CORRUPTIONS = (
    "short",
    "long",
    "above_255",
    "negative",
    "past_int32",
    "past_int64",
    "fraction",
    "word",
    "bad_label",
    "bad_usage",
)


@st.composite
def rows(draw):
    label = draw(st.integers(0, 6))
    usage = draw(st.sampled_from(USAGES))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, PIXELS_PER_IMAGE)
    corruption = draw(st.one_of(st.none(), st.none(), st.sampled_from(CORRUPTIONS)))
    tokens = [str(value) for value in pixels]
    position = draw(st.integers(0, PIXELS_PER_IMAGE - 1))
    label_text, usage_text = str(label), usage
    if corruption == "short":
        tokens.pop(position)
    elif corruption == "long":
        tokens.insert(position, "7")
    elif corruption in ("above_255", "negative", "past_int32", "past_int64", "fraction", "word"):
        tokens[position] = {
            "above_255": "256",
            "negative": "-1",
            "past_int32": "4294967301",
            "past_int64": "99999999999999999999999",
            "fraction": "12.5",
            "word": "abc",
        }[corruption]
    elif corruption == "bad_label":
        label_text = draw(st.sampled_from(["7", "-1", "x", "", "2.5"]))
    elif corruption == "bad_usage":
        usage_text = draw(st.sampled_from(["Test", "training", "Validation"]))
    text = f"{label_text},{' '.join(tokens)},{usage_text}"
    return text, corruption is None, pixels.astype(np.uint8), label, usage


@st.composite
def csv_files(draw):
    generated = draw(st.lists(rows(), min_size=1, max_size=6))
    blanks_before = draw(st.lists(st.integers(0, 2), min_size=len(generated), max_size=len(generated)))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    compressed = draw(st.booleans())
    lines, first_bad_line = ["emotion,pixels,Usage"], None
    for (text, valid, *_), blanks in zip(generated, blanks_before):
        lines += [draw(st.sampled_from(["", "  "])) for _ in range(blanks)]
        lines.append(text)
        if not valid and first_bad_line is None:
            first_bad_line = len(lines)
    trailing = draw(st.sampled_from(["", newline, newline * 2]))
    return newline.join(lines) + trailing, encoding, compressed, generated, first_bad_line


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files())
def test_a_generated_csv_loads_exactly_or_names_its_first_bad_line(tmp_path_factory, generated_file):
    text, encoding, compressed, generated, first_bad_line = generated_file
    path = tmp_path_factory.mktemp("csv") / ("fer2013.csv.gz" if compressed else "fer2013.csv")
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if compressed else data)
    if first_bad_line is not None:
        with pytest.raises(DataError) as error:
            load_csv(path, use_cache=False)
        assert str(error.value).startswith(f"{path}, line {first_bad_line}: "), str(error.value)[:200]
        return
    splits = load_csv(path, use_cache=False)
    for usage in USAGES:
        expected = [(pixels, label) for _, _, pixels, label, row_usage in generated if row_usage == usage]
        assert len(splits[usage]) == len(expected)
        if expected:
            images = np.stack([pixels for pixels, _ in expected]).reshape(-1, 48, 48, 1)
            np.testing.assert_array_equal(splits[usage].images, images)
            np.testing.assert_array_equal(splits[usage].labels, [label for _, label in expected])
