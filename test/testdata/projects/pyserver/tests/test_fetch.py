import urllib.error

import pytest

import textstats


@pytest.mark.network
def test_from_url(server):
    assert textstats.from_url(server + "/doc.txt") == [("the", 3), ("and", 2), ("cat", 1)]


@pytest.mark.network
def test_missing(server):
    with pytest.raises(urllib.error.HTTPError):
        textstats.from_url(server + "/none")
