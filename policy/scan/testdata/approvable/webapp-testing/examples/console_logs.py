"""Open the app, collect console messages and save a screenshot."""
from playwright.sync_api import sync_playwright

URL = "http://localhost:5173/"

with sync_playwright() as p:
    browser = p.chromium.launch(headless=True)
    page = browser.new_page()
    messages = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.goto(URL)
    page.wait_for_load_state("networkidle")
    page.screenshot(path="test-results/home.png", full_page=True)
    browser.close()

print("\n".join(messages) or "no console messages")
