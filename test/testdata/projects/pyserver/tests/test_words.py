import pytest

import textstats


def test_words():
    assert textstats.words("It's a Test, a test.") == ["it's", "a", "test", "a", "test"]


@pytest.mark.parametrize("text,expected", [("a a b", [("a", 2), ("b", 1)]), ("", [])])
def test_top(text, expected):
    assert textstats.top(text, 2) == expected


def test_file(tmp_path):
    p = tmp_path / "in.txt"
    p.write_text("one two two")
    assert textstats.top(p.read_text(), 1) == [("two", 2)]
