"""Pages with no article that look like pages with one: consent dialogs and app shells as real
sites serve them (long legal text, a full menu, a footer with an address), in English, Ukrainian
and Russian. The wording follows the dialogs of Google's consent page and of IAB TCF consent
platforms that Ukrainian and Russian outlets embed; the shells follow server-rendered React
templates whose body is filled by JavaScript."""

from __future__ import annotations

__all__ = ["APP_SHELL_UK", "CONSENT_EN", "CONSENT_RU", "CONSENT_UK", "WALLS"]

CONSENT_EN = """<html lang="en"><head><title>Before you continue</title></head><body>
<div class="consent-bump"><h1>Before you continue</h1>
<p>We use cookies and data to deliver and maintain our services, track outages and protect against spam, fraud and abuse, and measure audience engagement and site statistics to understand how our services are used and enhance the quality of those services.</p>
<p>If you choose to 'Accept all', we will also use cookies and data to develop and improve new services, deliver and measure the effectiveness of ads, show personalised content depending on your settings, and show personalised ads, depending on your settings.</p>
<p>If you choose to 'Reject all', we will not use cookies for these additional purposes. Non-personalised content is influenced by things like the content that you're currently viewing, activity in your active session, and your location. Non-personalised ads are influenced by the content that you're currently viewing and your general location.</p>
<p>Personalised content and ads can also include more relevant results, recommendations and tailored ads based on past activity from this browser. We also use cookies and data to tailor the experience to be age-appropriate, if relevant.</p>
<p>Select 'More options' to see additional information, including details about managing your privacy settings.</p>
<button>Reject all</button><button>Accept all</button><a href="#">More options</a></div></body></html>"""

CONSENT_UK = """<html lang="uk"><head><title>Налаштування конфіденційності</title></head><body><div id="cmp">
<h2>Ми цінуємо вашу конфіденційність</h2>
<p>Ми та наші партнери зберігаємо та/або отримуємо доступ до інформації на пристрої, наприклад файлів cookie, і обробляємо персональні дані, як-от унікальні ідентифікатори та стандартну інформацію, що надсилається пристроєм, для персоналізованої реклами та вмісту, вимірювання реклами та вмісту, аналізу аудиторії та розробки продуктів.</p>
<p>З вашого дозволу ми та наші партнери можемо використовувати точні дані геолокації та ідентифікацію через сканування пристрою. Ви можете натиснути, щоб надати згоду на обробку нами та нашими партнерами, як описано вище. Також ви можете отримати доступ до детальнішої інформації та змінити свої налаштування, перш ніж надати згоду або відмовитися.</p>
<button>Погоджуюсь</button><button>Не погоджуюсь</button><a>Більше параметрів</a></div></body></html>"""

CONSENT_RU = """<html lang="ru"><head><title>Настройки конфиденциальности</title></head><body><div class="cookie-consent">
<h2>Мы используем файлы cookie</h2>
<p>Мы и наши партнеры храним и/или получаем доступ к информации на устройстве, например к файлам cookie, и обрабатываем персональные данные, такие как уникальные идентификаторы и стандартная информация, отправляемая устройством, для персонализированной рекламы и контента, измерения рекламы и контента, а также для разработки продуктов.</p>
<p>С вашего согласия мы и наши партнеры можем использовать точные данные геолокации. Нажмите «Принять все», чтобы дать согласие на такую обработку, или измените настройки, прежде чем дать согласие или отказаться от него.</p>
<button>Принять все</button><button>Отклонить все</button></div></body></html>"""

_NAV = "".join(f'<li><a href="/section/{i}/">Розділ новин номер {i}</a></li>' for i in range(14))
APP_SHELL_UK = f"""<html lang="uk"><head><title>Новини України</title><script src="/static/app.js"></script></head><body>
<header><nav><ul>{_NAV}</ul></nav></header><div id="root"><div class="spinner">Завантаження…</div></div>
<noscript>Для роботи сайту увімкніть JavaScript у налаштуваннях вашого браузера.</noscript>
<footer><p>© 2026 ТОВ «Новини». Усі права захищені. Використання матеріалів сайту дозволяється за умови посилання на джерело. Адреса редакції: м. Київ, вул. Хрещатик, 1. Телефон редакції: +380 44 000 00 00.</p>
<p>Редакція не несе відповідальності за зміст рекламних матеріалів. Думки авторів можуть не збігатися з позицією редакції. Матеріали з позначкою «Реклама» публікуються на правах реклами.</p></footer></body></html>"""

WALLS = {"consent-en": CONSENT_EN, "consent-uk": CONSENT_UK, "consent-ru": CONSENT_RU, "app-shell-uk": APP_SHELL_UK}
