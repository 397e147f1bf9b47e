"""report.html: every duplicate group with thumbnails, in one file that opens from disk.

The groups and their small JPEG thumbnails (data URIs) are embedded as JSON; a few lines of
JavaScript show them 50 groups a page, so the browser only lays out one page of images even for
thousands of groups. A click on a thumbnail shows the file itself, as large as the window allows
(a watermark or a crop cannot be judged at thumbnail size); each path links to its file and
wraps at its separators. File names are inserted as text, never as HTML.
"""
import html
import json
import os
import pathlib
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional

from reports.previews import preview_data_uri

THUMBNAIL_PIXELS = 96

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
 body { font: 14px system-ui, sans-serif; margin: 1em 2em; color: #222; }
 .group { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 1em; padding: .5em .8em; }
 .group h2 { font-size: 15px; margin: .2em 0 .5em; }
 .members { display: flex; flex-wrap: wrap; gap: .8em; }
 .member { width: 150px; font-size: 12px; overflow-wrap: break-word; }
 .member img, .member .missing { width: 96px; height: 96px; object-fit: contain; background: #f4f4f4; display: block; }
 .member img { cursor: zoom-in; }
 .member .missing { line-height: 96px; text-align: center; color: #999; }
 .member dl { margin: .2em 0; color: #555; } .member dt { display: inline; } .member dd { display: inline; margin: 0 0 0 .3em; }
 .member dd::after { content: ""; display: block; }
 .keep { outline: 3px solid #2a7; outline-offset: 2px; margin-bottom: 6px; }
 .role { font-weight: bold; }
 nav { margin: 1em 0; } nav button { margin-right: .5em; }
 #viewer { display: none; position: fixed; inset: 0; background: rgba(0,0,0,.85); cursor: zoom-out;
           align-items: center; justify-content: center; flex-direction: column; color: #eee; }
 #viewer.open { display: flex; }
 #viewer img { max-width: 95vw; max-height: 90vh; object-fit: contain; background: #fff; }
</style></head><body>
<h1>__TITLE__</h1>
<p id="summary"></p>
<p>Kind: <select id="kind"><option value="">all</option><option>exact</option><option>near</option><option>leak</option></select>
 Path contains: <input id="filter" size="30"></p>
<nav><button id="prev">&larr; previous</button><span id="page"></span> <button id="next">next &rarr;</button></nav>
<div id="groups"></div>
<div id="viewer" title="click or Esc to close"><img alt=""><p></p></div>
<script type="application/json" id="data">__DATA__</script>
<script>
const data = JSON.parse(document.getElementById('data').textContent);
const perPage = 50;
let page = 0, shown = data.groups;
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function size(m) { return m.width ? m.width + 'x' + m.height : '?'; }
function kb(m) { return m.bytes == null ? '?' : (m.bytes / 1024).toFixed(1) + ' KB'; }
function pathText(uri) {  // the path as text that may break after each separator, and only there
  const span = el('span');
  const parts = (uri || '(no uri)').split('/');
  parts.forEach((part, i) => { span.append(i < parts.length - 1 ? part + '/' : part); span.append(el('wbr')); });
  return span;
}
function evidenceList(evidence) {  // whatever the match was decided on, as "name: value" lines
  const list = el('dl');
  for (const [key, value] of Object.entries(evidence)) { list.append(el('dt', '', key + ':')); list.append(el('dd', '', String(value))); }
  return list;
}
function view(m) {
  const viewer = document.getElementById('viewer'), img = viewer.querySelector('img'), note = viewer.querySelector('p');
  note.textContent = m.uri;
  img.onerror = () => { img.onerror = null; img.src = data.thumbnails[m.uri]; note.textContent = m.uri + ' (the file cannot be opened: its thumbnail is shown)'; };
  img.src = data.links[m.uri] || data.thumbnails[m.uri];
  viewer.className = 'open';
}
function memberBox(m, role) {
  const box = el('div', 'member');
  const thumb = data.thumbnails[m.uri];
  if (thumb) { const img = el('img', role === 'keep' ? 'keep' : ''); img.src = thumb; img.alt = m.uri; img.title = 'click to see it full size'; img.onclick = () => view(m); box.append(img); }
  else box.append(el('div', 'missing', 'cannot read'));
  box.append(el('div', 'role', role === 'keep' ? 'KEEP' : m.distance + ' bits'));
  box.append(el('div', '', size(m) + ', ' + kb(m)));
  if (m.evidence) box.append(evidenceList(m.evidence));
  const link = data.links[m.uri];
  const name = el(link ? 'a' : 'div');
  if (link) { name.href = link; name.target = '_blank'; }
  name.append(pathText(m.uri));
  box.append(name);
  return box;
}
function render() {
  const kind = document.getElementById('kind').value, text = document.getElementById('filter').value;
  shown = data.groups.filter(g => (!kind || g.kind === kind) &&
    (!text || [g.keep].concat(g.duplicates).some(m => (m.uri || '').includes(text))));
  const pages = Math.max(1, Math.ceil(shown.length / perPage));
  page = Math.min(page, pages - 1);
  const box = document.getElementById('groups');
  box.replaceChildren();
  for (const g of shown.slice(page * perPage, (page + 1) * perPage)) {
    const div = el('div', 'group');
    div.append(el('h2', '', 'Group ' + g.group + ' (' + g.kind + '): ' + (1 + g.duplicates.length) + ' files'));
    const members = el('div', 'members');
    members.append(memberBox(g.keep, 'keep'));
    for (const d of g.duplicates) members.append(memberBox(d, 'duplicate'));
    div.append(members);
    box.append(div);
  }
  document.getElementById('page').textContent = ' page ' + (page + 1) + ' of ' + pages + ' (' + shown.length + ' groups) ';
}
document.getElementById('summary').textContent = data.summary;
document.getElementById('viewer').onclick = () => { document.getElementById('viewer').className = ''; };
document.addEventListener('keydown', e => { if (e.key === 'Escape') document.getElementById('viewer').className = ''; });
document.getElementById('prev').onclick = () => { if (page > 0) { page--; render(); } };
document.getElementById('next').onclick = () => { page++; render(); };
document.getElementById('kind').onchange = () => { page = 0; render(); };
document.getElementById('filter').oninput = () => { page = 0; render(); };
render();
</script></body></html>
"""


def file_link(uri: str) -> Optional[str]:
    """A file:// URL for a file's absolute path; None for what is no file of its own (ARCHIVE::MEMBER)."""
    if '::' in uri or not os.path.isabs(uri):
        return None
    return pathlib.Path(uri).as_uri()


def write_report(groups: List[dict], summary: str, out_path: str, title: str = 'Duplicate groups',
                 on_thumbnail: Optional[Callable[[], None]] = None) -> str:
    """Write report.html; on_thumbnail() is called once per file previewed (for progress)."""
    uris = list(dict.fromkeys(m['uri'] for g in groups for m in [g['keep']] + g['duplicates'] if m['uri']))
    thumbnails = {}
    with ThreadPoolExecutor() as pool:  # Pillow decodes without the GIL: threads use every core
        for uri, thumbnail in zip(uris, pool.map(lambda uri: preview_data_uri(uri, THUMBNAIL_PIXELS), uris)):
            thumbnails[uri] = thumbnail
            if on_thumbnail:
                on_thumbnail()
    links = {uri: file_link(uri) for uri in uris if file_link(uri)}
    data = json.dumps({'summary': summary, 'groups': groups, 'thumbnails': thumbnails, 'links': links})
    page = PAGE.replace('__TITLE__', html.escape(title)).replace('__DATA__', data.replace('</', '<\\/'))
    with open(out_path, 'w', encoding='utf-8') as file:
        file.write(page)
    return out_path
