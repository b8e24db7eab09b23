"""Word statistics for text, from strings, files or URLs."""
import collections
import re
import urllib.request

WORD = re.compile(r"[A-Za-z']+")


def words(text):
    return [w.lower() for w in WORD.findall(text)]


def top(text, n=3):
    return collections.Counter(words(text)).most_common(n)


def from_url(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as res:
        return top(res.read().decode("utf-8"))
