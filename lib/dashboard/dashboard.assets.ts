/*
 * The dashboard's only script and stylesheet, served from the mount path (no build step, no inline code:
 * the Content-Security-Policy allows scripts and styles from 'self' only).
 */

/** Runs the POST buttons (JSON body + CSRF header), and refreshes `#content` by polling the page itself. */
export const DASHBOARD_JS = `'use strict';
(function () {
  var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var every = Number((document.querySelector('meta[name="refresh-seconds"]') || {}).content || 0);
  var flash = document.getElementById('flash');
  var box = document.getElementById('auto-refresh');
  function say(text, bad) {
    if (!flash) return;
    flash.textContent = text;
    flash.className = bad ? 'bad' : 'ok';
  }
  function refresh() {
    return fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(new Error('HTTP ' + res.status)); })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, 'text/html').getElementById('content');
        var current = document.getElementById('content');
        if (next && current) current.replaceWith(document.adoptNode(next));
        document.documentElement.setAttribute('data-refreshed', String(Date.now()));
      })
      .catch(function (err) { say('refresh failed: ' + err.message, true); });
  }
  document.addEventListener('click', function (event) {
    var button = event.target instanceof Element ? event.target.closest('button[data-post]') : null;
    if (!button) return;
    event.preventDefault();
    var question = button.getAttribute('data-confirm');
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    fetch(button.getAttribute('data-post'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token, accept: 'application/json' },
      body: button.getAttribute('data-body') || '{}',
    })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (!res.ok) throw new Error(body.message || 'HTTP ' + res.status);
          return body;
        });
      })
      .then(function (body) {
        say(body.message || 'done', false);
        var after = button.getAttribute('data-after');
        if (after) location.assign(after);
        else return refresh();
      })
      .catch(function (err) { say(err.message, true); button.disabled = false; });
  });
  if (box) {
    box.checked = every > 0 && localStorage.getItem('resque-dashboard-refresh') !== 'off';
    box.disabled = every <= 0;
    box.addEventListener('change', function () { localStorage.setItem('resque-dashboard-refresh', box.checked ? 'on' : 'off'); });
  }
  if (every > 0) {
    setInterval(function () {
      // Not while the user types in a form of the page (the refresh would replace what they typed).
      var active = document.activeElement;
      var typing = active && active.closest && active.closest('#content form');
      if (box && box.checked && document.visibilityState === 'visible' && !typing) refresh();
    }, every * 1000);
  }
})();
`;

export const DASHBOARD_CSS = `:root { color-scheme: light dark; --fg: #222; --bg: #fff; --muted: #666; --line: #ddd; --accent: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #161616; --muted: #aaa; --line: #333; --accent: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5em; align-items: center; padding: .6em 1em; border-bottom: 1px solid var(--line); }
header .ns { color: var(--muted); } header .refresh { margin-left: auto; color: var(--muted); }
.badge { border: 1px solid var(--muted); border-radius: 3px; padding: 0 .4em; font-size: 12px; }
nav { display: flex; flex-wrap: wrap; gap: .2em; padding: .4em 1em; border-bottom: 1px solid var(--line); }
nav a { padding: .3em .6em; border-radius: 4px; text-decoration: none; color: inherit; }
nav a[aria-current=page] { background: var(--accent); color: #fff; }
main { padding: 0 1em 2em; max-width: 1400px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td button { white-space: nowrap; margin: 0 .2em .2em 0; }
tr.failed td { color: var(--accent); }
code, pre { font: 12px/1.4 ui-monospace, monospace; word-break: break-all; white-space: pre-wrap; }
pre.backtrace { border: 1px solid var(--line); padding: .6em; overflow-x: auto; }
.totals { display: flex; flex-wrap: wrap; gap: 1.5em; padding: 0; list-style: none; }
.totals b { font-size: 1.5em; display: block; }
.empty, .note, .pager { color: var(--muted); }
.filter { display: flex; flex-wrap: wrap; gap: .4em; margin: .6em 0; }
input { font: inherit; padding: .3em .5em; }
button { font: inherit; padding: .2em .7em; cursor: pointer; }
#flash.ok { padding: .4em 1em; background: #e6f4ea; color: #1e4620; }
#flash.bad { padding: .4em 1em; background: #fce8e6; color: #8c1d18; }
.problem { color: var(--accent); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3em 1em; } dd { margin: 0; }
@media (max-width: 600px) { th, td { padding: .3em; } main { padding: 0 .5em 2em; } }
`;
