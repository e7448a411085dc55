"""An obozrevatel.com article page, built from the site's real markup patterns.

No stored copy of an obozrevatel article page could be found in public material.
The markup follows what three independent public scrapers of the site select:
``h1.news-full__title``, ``.news-full__date``, ``.icon-views`` and the body in
``div.news-full__text.io-article-body`` as ``<p>`` paragraphs, the last ones of which
are the site's promotion lines (one parser drops the last two). Russian-edition
articles live at ``https://<section>.obozrevatel.com/<slug>.htm``, Ukrainian ones at
``…/ukr/<slug>.htm`` (URLs seen in public code). The article text is a real
Russian news text from the shared corpus (factRuEval-2016).
"""

from __future__ import annotations

import json
from html import escape

__all__ = ["PROMO_LINES", "obozrevatel_page"]

PROMO_LINES = (
    "Только проверенная информация у нас в Telegram-канале Obozrevatel и в Viber. Не ведитесь на фейки!",
    "Читайте также: Главные новости дня на OBOZREVATEL",
)


def obozrevatel_page(title: str, paragraphs: list[str], url: str, published: str, ukr_url: str) -> str:
    nav = "".join(
        f'<li class="main-menu__item"><a href="https://www.obozrevatel.com/{slug}/">{name}</a></li>'
        for slug, name in (("news", "Новости"), ("politics", "Политика"), ("war", "Война"), ("economics", "Экономика"))
    )
    related = "".join(
        f'<li class="news-list__item"><a class="news-list__link" href="https://news.obozrevatel.com/n{n}.htm">'
        f"Похожая новость {n} о событиях дня</a></li>"
        for n in range(5)
    )
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    promos = "".join(f"<p><strong>{escape(line)}</strong></p>" for line in PROMO_LINES)
    ld = json.dumps(
        {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title, "datePublished": published,
         "publisher": {"@type": "Organization", "name": "OBOZREVATEL"}},
        ensure_ascii=False,
    )  # fmt: skip
    return f"""<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">
<title>{escape(title)} | OBOZREVATEL</title>
<link rel="canonical" href="{escape(url)}">
<link rel="alternate" hreflang="uk" href="{escape(ukr_url)}">
<meta property="og:url" content="{escape(url)}"><meta property="og:title" content="{escape(title)}">
<meta property="article:published_time" content="{published}">
<script type="application/ld+json">{ld}</script></head>
<body><div class="wide-wrapper"><header class="header"><a class="header__logo" href="https://www.obozrevatel.com/">OBOZREVATEL</a>
<nav class="main-menu"><ul>{nav}</ul></nav></header>
<main><div class="news-full"><h1 class="news-full__title">{escape(title)}</h1>
<div class="news-full__info"><span class="news-full__date">{published[8:10]}.{published[5:7]}.{published[:4]} {published[11:16]}</span>
<span class="icon-views">12т</span></div>
<div class="news-full__text io-article-body">{body}{promos}</div></div>
<aside class="news-list"><h3>Последние новости</h3><ul>{related}</ul></aside></main>
<footer class="footer"><p>© 2000-2026 OBOZREVATEL. Все права защищены.</p></footer></div></body></html>"""
