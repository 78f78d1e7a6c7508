// Scribe's page behaviour, without dependencies. Every page works without
// it (forms post, links download). The server draws all markup, live
// updates included: a page's event stream (its data-stream) sends rendered
// fragments, which this swaps in. What stays here is what only the browser
// can do: uploads with per-file progress, drag-and-drop, the player, copying,
// times in the reader's zone, and the elapsed time and estimate of a job.
// The Content-Security-Policy forbids inline styles and handlers, so all
// behaviour is bound here and progress is shown with <progress>.
(function () {
  'use strict';

  // Uploads run two at a time: with the page's EventSource that stays well
  // under the browser's six HTTP/1.1 connections per host.
  const MAX_PARALLEL_UPLOADS = 2;

  const byTestId = (root, id) => root.querySelector('[data-testid="' + id + '"]');

  // el builds an element: el('a', {href: '/x', 'data-testid': 'y'}, 'text', child…).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    node.append(...children);
    return node;
  }

  function parseJSON(text) {
    try { return JSON.parse(text); } catch (_) { return null; }
  }

  // clock renders seconds as m:ss or h:mm:ss, like views.formatClock.
  function clock(sec) {
    sec = Math.max(0, Math.floor(sec || 0));
    const h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60;
    const ss = String(s).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
  }

  function formatBytes(n) {
    if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1).replace(/\.0$/, '') + ' GB';
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1).replace(/\.0$/, '') + ' MB';
    if (n >= 1 << 10) return Math.round(n / (1 << 10)) + ' KB';
    return n + ' bytes';
  }

  // localTimes shows <time datetime> in the reader's own time zone.
  function localTimes(root) {
    for (const t of root.querySelectorAll('time[datetime]')) {
      const d = new Date(t.dateTime);
      if (isNaN(d)) continue;
      t.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    }
  }

  // enhance wires up what markup alone cannot do; it runs on the page and on
  // any markup swapped in later.
  function enhance(root) {
    localTimes(root);
    for (const button of root.querySelectorAll('[data-testid="copy-transcript"]')) {
      if (navigator.clipboard) button.hidden = false;
    }
  }

  // fragment is the one element of a rendered fragment from the server.
  function fragment(html) {
    const template = document.createElement('template');
    template.innerHTML = html;
    return template.content.firstElementChild;
  }

  // kind pairs old and new children in morph: same tag and the same test
  // id or form action (a row's retry and delete forms differ only there).
  function kind(node) {
    if (node.nodeType !== Node.ELEMENT_NODE) return String(node.nodeType);
    return node.nodeName + ' ' + (node.getAttribute('data-testid') || node.getAttribute('action') || '');
  }

  // morph makes node look like fresh, changing only what differs, so focus,
  // the keyboard position and live regions (which announce changed text,
  // not replaced elements) survive an update.
  function morph(node, fresh) {
    if (node.nodeType !== Node.ELEMENT_NODE) {
      if (node.nodeValue !== fresh.nodeValue) node.nodeValue = fresh.nodeValue;
      return;
    }
    for (const { name } of Array.from(node.attributes)) {
      if (!fresh.hasAttribute(name)) node.removeAttribute(name);
    }
    for (const { name, value } of fresh.attributes) {
      if (node.getAttribute(name) !== value) node.setAttribute(name, value);
    }
    let old = node.firstChild;
    for (const want of Array.from(fresh.childNodes)) {
      let match = old;
      while (match && kind(match) !== kind(want)) match = match.nextSibling;
      if (!match) {
        node.insertBefore(want, old);
        continue;
      }
      while (old !== match) {
        const next = old.nextSibling;
        old.remove();
        old = next;
      }
      morph(match, want);
      old = match.nextSibling;
    }
    while (old) {
      const next = old.nextSibling;
      old.remove();
      old = next;
    }
  }

  // Delete buttons ask first; the form still posts without JavaScript.
  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  });

  // ---- Job list (home page) ----

  // One EventSource carries every job of the user, each change as the job's
  // row; only that row changes. On a transient error the browser reconnects
  // by itself and resumes with Last-Event-ID, so errors are left to it.
  function initJobList(list) {
    const empty = byTestId(document, 'job-list-empty');
    const findRow = (id) => Array.from(list.children).find((row) => row.dataset.jobId === id);
    const source = new EventSource(list.dataset.stream);
    source.addEventListener('row', (e) => {
      const fresh = fragment(e.data);
      let row = findRow(fresh.dataset.jobId);
      if (row) morph(row, fresh);
      else list.prepend(row = fresh);
      localTimes(row);
      empty.hidden = true;
    });
    source.addEventListener('deleted', (e) => {
      const gone = parseJSON(e.data);
      const row = gone && findRow(gone.id);
      if (row) row.remove();
      empty.hidden = list.children.length > 0;
    });
  }

  // ---- Uploads ----

  function initUpload(form) {
    const input = byTestId(form, 'file-input');
    const zone = byTestId(form, 'drop-zone');
    const list = byTestId(document, 'upload-list');
    const maxBytes = parseInt(form.dataset.maxUploadBytes, 10) || 0;
    const queue = [];
    let active = 0;

    form.addEventListener('submit', (e) => {
      if (!input.files || input.files.length === 0) return; // the browser's own "required" message
      e.preventDefault();
      addFiles(input.files);
      input.value = '';
    });

    // Drops anywhere on the page must not navigate away to the file.
    for (const type of ['dragover', 'drop']) {
      document.addEventListener(type, (e) => {
        if (e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files')) e.preventDefault();
      });
    }
    zone.addEventListener('dragenter', (e) => { e.preventDefault(); zone.classList.add('is-dragover'); });
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
      zone.classList.add('is-dragover');
    });
    zone.addEventListener('dragleave', (e) => {
      if (!zone.contains(e.relatedTarget)) zone.classList.remove('is-dragover');
    });
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      zone.classList.remove('is-dragover');
      if (e.dataTransfer && e.dataTransfer.files.length) addFiles(e.dataTransfer.files);
    });

    function addFiles(files) {
      list.hidden = false;
      for (const file of files) {
        const item = makeItem(file);
        list.append(item.node);
        if (maxBytes > 0 && file.size > maxBytes) {
          item.fail(file.name + ' is larger than the ' + formatBytes(maxBytes) + ' a file may be.');
          continue;
        }
        // Dropped files skip the input's accept filter; an empty type is
        // unknown, and the server decides.
        if (file.type && !/^(audio|video)\//.test(file.type)) {
          item.fail(file.name + ' is not an audio or video file.');
          continue;
        }
        queue.push({ file: file, item: item });
      }
      pump();
    }

    function pump() {
      while (active < MAX_PARALLEL_UPLOADS && queue.length > 0) {
        active++;
        send(queue.shift(), () => { active--; pump(); });
      }
    }

    // send posts one file, so progress and errors belong to that file. The
    // new job's row arrives through the list's event stream.
    function send(entry, done) {
      const { file, item } = entry;
      const xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) item.progress(e.loaded / e.total);
      });
      xhr.addEventListener('load', () => {
        const body = parseJSON(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300 && body && Array.isArray(body.jobs)) {
          item.succeed(body.jobs[0]);
        } else if (body && body.error) {
          item.fail(body.error);
        } else if (/\/login(\?|$)/.test(new URL(xhr.responseURL || location.href).pathname)) {
          item.fail('Your session has ended. Sign in again and retry.');
        } else {
          item.fail('The upload failed (' + (xhr.status || 'no answer') + '). Try again in a moment.');
        }
        done();
      });
      xhr.addEventListener('error', () => {
        item.fail('The upload was interrupted. Check your connection and try again.');
        done();
      });
      const data = new FormData();
      data.append('file', file, file.name);
      xhr.send(data);
    }
  }

  // makeItem is one file's line in the upload list: name, state, progress,
  // and its error if any.
  function makeItem(file) {
    const state = el('span', { class: 'upload-state', 'data-testid': 'upload-state' }, 'Waiting…');
    const bar = el('progress', { max: 100, value: 0, 'data-testid': 'upload-progress', 'aria-label': 'Upload of ' + file.name });
    const node = el('li', { class: 'upload-item', 'data-testid': 'upload-item', 'data-filename': file.name },
      el('span', { class: 'upload-name' }, file.name), state, bar);
    return {
      node: node,
      progress(fraction) {
        const pct = Math.floor(fraction * 100);
        bar.value = pct;
        state.textContent = pct < 100 ? 'Uploading ' + pct + '%' : 'Processing upload…';
      },
      succeed(job) {
        bar.remove();
        node.classList.add('is-done');
        state.replaceChildren(job && job.id
          ? el('a', { href: '/jobs/' + encodeURIComponent(job.id) }, 'Uploaded · open')
          : 'Uploaded');
      },
      fail(message) {
        node.classList.add('is-error');
        bar.remove();
        state.textContent = 'Not uploaded';
        node.append(el('p', { class: 'upload-error', 'data-testid': 'upload-error', role: 'alert' }, message));
      },
    };
  }

  // ---- Job page ----

  // initJobPage follows a running job: the stream sends its status panel at
  // every change and, when the job ends, the body with the transcript or
  // the failure. Between panels, a timer keeps the elapsed time and the
  // estimate of the time left current.
  function initJobPage(page) {
    const panel = () => byTestId(page, 'job-panel');
    let first = null; // first progress seen on this page: {t, p}
    let last = null; // latest progress: {t, p}

    // timeLeft prefers the rate seen while this page watched; before that it
    // assumes progress so far took the time elapsed since upload.
    function timeLeft(progress, created, now) {
      if (progress <= 0 || progress >= 1) return null;
      if (first && last && last.t - first.t >= 2000 && last.p > first.p) {
        const perMs = (last.p - first.p) / (last.t - first.t);
        return ((1 - last.p) / perMs - (now - last.t)) / 1000;
      }
      if (!isNaN(created) && now > created) return ((now - created) * (1 - progress)) / progress / 1000;
      return null;
    }

    // tick fills in the panel's clocks; a finished job's panel has no
    // estimate and says how long it took instead.
    function tick() {
      const box = panel();
      const eta = byTestId(box, 'eta');
      if (!eta) return;
      const now = Date.now();
      const created = Date.parse(box.dataset.createdAt || '');
      if (!isNaN(created)) byTestId(box, 'elapsed').textContent = 'Elapsed ' + clock((now - created) / 1000);
      if (box.dataset.status === 'queued') {
        eta.textContent = 'Waiting to start';
        return;
      }
      const left = timeLeft(byTestId(box, 'job-progress').value / 100, created, now);
      if (left == null) eta.textContent = 'Estimating time left…';
      else if (left < 5) eta.textContent = 'Almost done';
      else eta.textContent = 'About ' + clock(left) + ' left';
    }
    tick();
    const timer = setInterval(tick, 1000);

    const source = new EventSource(page.dataset.stream);
    source.addEventListener('panel', (e) => {
      morph(panel(), fragment(e.data));
      const box = panel();
      const progress = byTestId(box, 'job-progress').value / 100;
      if (box.dataset.status === 'processing' && progress > 0) {
        last = { t: Date.now(), p: progress };
        if (!first) first = last;
      }
      tick();
    });
    // The body comes last and the stream then ends; EventSource would
    // reconnect to a finished stream, so close it ourselves. Other errors
    // are left to the browser, which reconnects with Last-Event-ID.
    source.addEventListener('body', (e) => {
      source.close();
      clearInterval(timer);
      const body = fragment(e.data);
      byTestId(page, 'job-body').replaceWith(body);
      enhance(body);
    });
  }

  // ---- Player ----

  // Clicking a line of the transcript plays from its start. A click that
  // ends a text selection is left alone, so lines can still be copied.
  document.addEventListener('click', (e) => {
    const seg = e.target.closest && e.target.closest('[data-testid="segment"]');
    if (!seg) return;
    if (String(window.getSelection()).length > 0 && !e.target.closest('button')) return;
    const page = seg.closest('[data-testid="job-page"]') || document;
    const audio = byTestId(page, 'player');
    const start = parseFloat(seg.dataset.start);
    if (!audio || isNaN(start)) return;
    audio.currentTime = start;
    highlight(page, start, false);
    const playing = audio.play();
    if (playing) playing.catch(() => {}); // autoplay refused: the seek still stands
  });

  // Media events do not bubble, so listen in the capture phase.
  document.addEventListener('timeupdate', (e) => {
    if (!(e.target instanceof HTMLAudioElement)) return;
    const page = e.target.closest('[data-testid="job-page"]') || document;
    highlight(page, e.target.currentTime, !e.target.paused);
  }, true);

  function highlight(page, time, follow) {
    let current = null;
    for (const seg of page.querySelectorAll('[data-testid="segment"]')) {
      if (parseFloat(seg.dataset.start) <= time + 0.05) current = seg; // segments are in time order
      else break;
    }
    if (current && time > parseFloat(current.dataset.end) + 1) current = null; // in a long silence
    for (const seg of page.querySelectorAll('.segment.is-current')) {
      if (seg !== current) {
        seg.classList.remove('is-current');
        seg.removeAttribute('aria-current');
      }
    }
    if (current && !current.classList.contains('is-current')) {
      current.classList.add('is-current');
      current.setAttribute('aria-current', 'true');
      if (follow) current.scrollIntoView({ block: 'nearest' });
    }
  }

  // ---- Copy ----

  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('[data-testid="copy-transcript"]');
    if (!button) return;
    const page = button.closest('[data-testid="job-page"]') || document;
    const text = byTestId(page, 'transcript-text');
    const result = byTestId(page, 'copy-result');
    navigator.clipboard.writeText(text ? text.textContent : '').then(
      () => { if (result) result.textContent = 'Copied to the clipboard.'; },
      () => {
        if (result) result.textContent = 'Could not copy; select the plain text below instead.';
        const details = text && text.closest('details');
        if (details) details.open = true;
      });
  });

  // ---- Start ----

  enhance(document);
  const uploadForm = byTestId(document, 'upload-form');
  if (uploadForm) initUpload(uploadForm);
  const jobList = byTestId(document, 'job-list');
  if (jobList) initJobList(jobList);
  const jobPage = byTestId(document, 'job-page');
  if (jobPage && jobPage.dataset.stream) initJobPage(jobPage);
})();
