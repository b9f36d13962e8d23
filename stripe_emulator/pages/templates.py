"""A minimal HTML layout shared by the hosted checkout page and the dashboard."""

from __future__ import annotations

from html import escape

BASE_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#1a1f36;background:#f6f8fb}
a{color:#635bff}
.banner{background:#ffde92;color:#5a3e00;text-align:center;font-size:12px;font-weight:600;
 letter-spacing:.06em;text-transform:uppercase;padding:4px}
h1{font-size:22px;margin:0 0 8px}
h2{font-size:17px;margin:24px 0 8px}
.muted{color:#697386}
.card{background:#fff;border-radius:10px;box-shadow:0 2px 5px rgba(60,66,87,.08),0 1px 1px rgba(0,0,0,.12);padding:24px}
button{font:inherit}
"""


def page(
    title: str, body: str, *, css: str = "", script: str = "", banner: bool = True, lang: str = "en"
) -> str:
    banner_html = '<div class="banner">Test mode · Stripe emulator</div>' if banner else ""
    script_html = f"<script>{script}</script>" if script else ""
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{BASE_CSS}{css}</style></head>"
        f"<body>{banner_html}{body}{script_html}</body></html>"
    )
