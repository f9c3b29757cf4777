"""The fake Google's page script (/google/static/isr.js), kept apart from the routes for readability.

It does what the real page's scripts do for a scraper's purposes: registers each batch's result data
(`AF_initDataCallback`), loads the next batch when the page is scrolled to the bottom or "Show more
results" is clicked (running the batch's data script as the real page does), follows a redirect to the
"unusual traffic" page, shows "Looks like you've reached the end", and fills the preview pane with the
full-size image when a thumbnail is clicked.
"""

ISR_JS = r"""
(function () {
  'use strict';
  var results = {};

  function walk(node) {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node) && node[0] === 1 && Array.isArray(node[1]) && node[1][0] === 0
        && Array.isArray(node[1][3])) {
      var entry = node[1];
      var doc = (entry[9] || {})['2003'] || [];
      results[entry[1]] = {url: entry[3][0], height: entry[3][1], width: entry[3][2], page: doc[2] || ''};
      return;
    }
    Object.keys(node).forEach(function (key) { walk(node[key]); });
  }

  window.AF_initDataCallback = function (chunk) { walk(chunk.data); };

  var loading = false;

  function box() { return document.getElementById('islmp'); }
  function show(selector, on) {
    var el = document.querySelector(selector);
    if (el) el.style.display = on ? 'block' : 'none';
  }
  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 600;
  }
  function settle(next, gated) {
    box().setAttribute('data-next', next);
    box().setAttribute('data-gated', gated ? '1' : '');
    show('.YstHxe', next && gated);
    show('.OuJzKb', !next);
    if (next && !gated && nearBottom()) load();
  }

  function insert(html) {
    var holder = document.createElement('div');
    holder.innerHTML = html;
    var batch = holder.querySelector('.islrc-batch');
    var list = document.querySelector('#islrg .islrc');
    Array.from(batch.children).forEach(function (tile) { list.appendChild(tile); });
    // Scripts parsed through innerHTML do not run: recreate them, as the real loader does.
    Array.from(holder.querySelectorAll('script')).forEach(function (old) {
      var script = document.createElement('script');
      script.setAttribute('nonce', old.getAttribute('nonce') || '');
      script.text = old.text;
      document.body.appendChild(script);
    });
    return batch;
  }

  function load() {
    var next = box().getAttribute('data-next');
    if (loading || !next) return;
    loading = true;
    show('.YstHxe', false);
    fetch(next, {credentials: 'same-origin'}).then(function (res) {
      if (res.url.indexOf('/sorry/') >= 0 || res.url.indexOf('/consent/') >= 0) {
        location.href = res.url;
        return null;
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.text();
    }).then(function (html) {
      loading = false;
      if (html === null) return;
      var batch = insert(html);
      settle(batch.getAttribute('data-next'), batch.getAttribute('data-gated') === '1');
    }).catch(function () {
      loading = false;
    });
  }

  function onScroll() {
    if (box() && box().getAttribute('data-gated') !== '1' && nearBottom()) load();
  }
  window.addEventListener('scroll', onScroll, {passive: true});
  // A first batch too short to scroll loads the next one by itself, as the real page does.
  document.addEventListener('DOMContentLoaded', onScroll);

  document.addEventListener('click', function (event) {
    if (event.target.closest('.mye4qd')) {
      box().setAttribute('data-gated', '');
      load();
      return;
    }
    var thumb = event.target.closest('.isv-r a.wXeWr');
    if (!thumb) return;
    event.preventDefault();
    var result = results[thumb.closest('.isv-r').getAttribute('data-id')];
    if (!result) return;
    var pane = document.getElementById('islsp');
    pane.querySelector('img.sFlh5c').src = result.url;
    pane.querySelector('a.eHAdSb').href = result.page;
    pane.querySelector('a.umNKYc').href = result.page;
    pane.querySelector('.VSIspc').textContent = result.width + ' x ' + result.height;
    pane.style.display = 'block';
  });
})();
"""
