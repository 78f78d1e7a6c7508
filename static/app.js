// Scribe's page behaviour, without dependencies. Every page works without
// it (forms post, links download); this adds uploads with per-file progress,
// live job updates over ONE EventSource per page, and the transcript player.
// The Content-Security-Policy forbids inline styles and handlers, so all
// behaviour is bound here and progress is shown with <progress>.
(function () {
  'use strict';

  const FORMATS = ['txt', 'srt', 'vtt', 'json'];
  const LABELS = { queued: 'Queued', processing: 'Processing', completed: 'Completed', failed: 'Failed' };
  // Uploads run two at a time: with the page's EventSource that stays well
  // under the browser's six HTTP/1.1 connections per host.
  const MAX_PARALLEL_UPLOADS = 2;

  const byTestId = (root, id) => root.querySelector('[data-testid="' + id + '"]');
  const isFinal = (status) => status === 'completed' || status === 'failed';
  const jobPath = (id, suffix) => '/jobs/' + encodeURIComponent(id) + (suffix || '');

  // el builds an element: el('a', {href: '/x', 'data-testid': 'y'}, 'text', child…).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value == null) continue;
      node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
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

  const formatDuration = (sec) => (sec > 0 ? clock(sec) : '–');

  function percent(job) {
    if (job.status === 'completed') return 100;
    const p = Math.min(1, Math.max(0, Number(job.progress) || 0));
    return Math.floor(p * 100);
  }

  function formatBytes(n) {
    if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1).replace(/\.0$/, '') + ' GB';
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1).replace(/\.0$/, '') + ' MB';
    if (n >= 1 << 10) return Math.round(n / (1 << 10)) + ' KB';
    return n + ' bytes';
  }

  // newer reports whether a job update is not older than what an element
  // shows, so a late upload response cannot undo a live update.
  function newer(node, job) {
    const shown = Date.parse(node.dataset.updatedAt || '');
    const got = Date.parse(job.updated_at || '');
    return isNaN(shown) || isNaN(got) || got >= shown;
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

  // Delete buttons ask first; the form still posts without JavaScript.
  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  });

  // ---- Job list (home page) ----

  const jobList = () => byTestId(document, 'job-list');

  function findRow(list, id) {
    for (const row of list.children) {
      if (row.dataset.jobId === id) return row;
    }
    return null;
  }

  function downloadLinks(job) {
    return el('span', { class: 'downloads', 'aria-label': 'Download transcript' },
      ...FORMATS.map((f) => el('a', {
        class: 'chip', href: jobPath(job.id, '/transcript.' + f), download: true, 'data-testid': 'download-' + f,
      }, f)));
  }

  function postForm(action, attrs, button) {
    const form = el('form', Object.assign({ method: 'post', action: action, class: 'inline-form' }, attrs), button);
    return form;
  }

  function retryForm(job) {
    return postForm(jobPath(job.id, '/retry'), {},
      el('button', { type: 'submit', class: 'button-small', 'data-testid': 'retry' }, 'Retry'));
  }

  function deleteForm(job) {
    return postForm(jobPath(job.id, '/delete'), { 'data-confirm': 'Delete “' + job.filename + '” and its transcript?' },
      el('button', {
        type: 'submit', class: 'button-small button-danger', 'data-testid': 'delete', 'aria-label': 'Delete ' + job.filename,
      }, 'Delete'));
  }

  function rowActions(job) {
    const parts = [];
    if (job.status === 'completed') parts.push(downloadLinks(job));
    if (job.status === 'failed') {
      parts.push(el('span', { class: 'job-error', 'data-testid': 'job-error' }, job.error || ''));
      parts.push(retryForm(job));
    }
    parts.push(deleteForm(job));
    return parts;
  }

  // buildRow makes the same markup as views/home.templ's jobRow.
  function buildRow(job) {
    const created = job.created_at ? new Date(job.created_at) : null;
    const row = el('li', { class: 'job-row', 'data-testid': 'job-row', 'data-job-id': job.id },
      el('div', { class: 'job-main' },
        el('a', { class: 'job-name', href: jobPath(job.id), 'data-testid': 'job-link' }, job.filename),
        el('div', { class: 'job-meta' },
          el('span', { 'data-testid': 'job-duration', title: 'Duration' }, formatDuration(job.duration)),
          created && !isNaN(created)
            ? el('time', { datetime: job.created_at, 'data-testid': 'job-created' },
              created.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }))
            : null)),
      el('div', { class: 'job-state' },
        el('span', { class: 'status', 'data-testid': 'job-status' }),
        el('progress', { class: 'progress', 'data-testid': 'job-progress', max: 100, value: 0, 'aria-label': 'Progress of ' + job.filename })),
      el('div', { class: 'job-actions', 'data-testid': 'job-actions' }));
    updateRow(row, job, true);
    return row;
  }

  function updateRow(row, job, force) {
    if (!force && !newer(row, job)) return;
    const changed = force || row.dataset.status !== job.status;
    row.dataset.status = job.status;
    if (job.updated_at) row.dataset.updatedAt = job.updated_at;
    const status = byTestId(row, 'job-status');
    status.textContent = LABELS[job.status] || job.status;
    status.className = 'status status-' + job.status;
    const bar = byTestId(row, 'job-progress');
    bar.value = percent(job);
    bar.textContent = percent(job) + '%';
    if (job.duration > 0) byTestId(row, 'job-duration').textContent = formatDuration(job.duration);
    if (changed) byTestId(row, 'job-actions').replaceChildren(...rowActions(job));
  }

  function upsertRow(job) {
    const list = jobList();
    if (!list || !job || !job.id) return;
    const row = findRow(list, job.id);
    if (row) {
      updateRow(row, job, false);
      return;
    }
    list.prepend(buildRow(job));
    const empty = byTestId(document, 'job-list-empty');
    if (empty) empty.hidden = true;
  }

  // One EventSource carries every job of the user. On a transient error the
  // browser reconnects by itself and resumes with Last-Event-ID, so errors
  // are left to it.
  function initJobList() {
    const source = new EventSource('/events');
    source.addEventListener('job', (e) => upsertRow(parseJSON(e.data)));
    source.addEventListener('deleted', (e) => {
      const gone = parseJSON(e.data);
      const list = jobList();
      const row = list && gone && findRow(list, gone.id);
      if (row) row.remove();
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

    // send posts one file, so progress and errors belong to that file.
    function send(entry, done) {
      const { file, item } = entry;
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/jobs');
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) item.progress(e.loaded / e.total);
      });
      xhr.addEventListener('load', () => {
        const body = parseJSON(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300 && body && Array.isArray(body.jobs)) {
          item.succeed(body.jobs[0]);
          body.jobs.forEach(upsertRow);
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
          ? el('a', { href: jobPath(job.id) }, 'Uploaded · open')
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

  function initJobPage(page) {
    const id = page.dataset.jobId;
    if (isFinal(page.dataset.status)) return;

    const created = Date.parse(page.dataset.createdAt || '');
    const elapsedEl = byTestId(page, 'elapsed');
    const etaEl = byTestId(page, 'eta');
    const bar = byTestId(page, 'job-progress');
    let progress = bar ? bar.value / 100 : 0; // as rendered, until the stream's snapshot
    let first = null; // first progress seen on this page: {t, p}
    let last = null; // latest progress: {t, p}

    // timeLeft prefers the rate seen while this page watched; before that it
    // assumes progress so far took the time elapsed since upload.
    function timeLeft(now) {
      if (page.dataset.status !== 'processing' || progress <= 0 || progress >= 1) return null;
      if (first && last && last.t - first.t >= 2000 && last.p > first.p) {
        const perMs = (last.p - first.p) / (last.t - first.t);
        return ((1 - last.p) / perMs - (now - last.t)) / 1000;
      }
      if (!isNaN(created) && now > created) return ((now - created) * (1 - progress)) / progress / 1000;
      return null;
    }

    function tick() {
      const now = Date.now();
      if (elapsedEl && !isNaN(created)) elapsedEl.textContent = 'Elapsed ' + clock((now - created) / 1000);
      if (!etaEl) return;
      if (page.dataset.status === 'queued') {
        etaEl.textContent = 'Waiting to start';
        return;
      }
      const left = timeLeft(now);
      if (left == null) etaEl.textContent = 'Estimating time left…';
      else if (left < 5) etaEl.textContent = 'Almost done';
      else etaEl.textContent = 'About ' + clock(left) + ' left';
    }
    tick();
    const timer = setInterval(tick, 1000);

    function update(job) {
      if (!newer(page, job)) return;
      page.dataset.status = job.status;
      if (job.updated_at) page.dataset.updatedAt = job.updated_at;
      const status = byTestId(page, 'job-status');
      const label = LABELS[job.status] || job.status;
      if (status.textContent !== label) status.textContent = label; // aria-live: announce changes only
      status.dataset.status = job.status;
      status.className = 'status status-' + job.status;
      const pct = percent(job);
      bar.value = pct;
      bar.textContent = pct + '%';
      byTestId(page, 'job-percent').textContent = pct + '%';
      if (job.duration > 0) byTestId(page, 'job-duration').textContent = formatDuration(job.duration);
      progress = Number(job.progress) || 0;
      if (job.status === 'processing' && progress > 0) {
        last = { t: Date.now(), p: progress };
        if (!first) first = last;
      }
      tick();
    }

    // The stream ends after the final event, and EventSource would reconnect
    // to a finished stream, so close it ourselves. Other errors are left to
    // the browser, which reconnects and resumes with Last-Event-ID.
    const source = new EventSource(jobPath(id, '/events'));
    source.addEventListener('job', (e) => {
      const job = parseJSON(e.data);
      if (!job || job.id !== id) return;
      update(job);
      if (isFinal(job.status)) {
        source.close();
        clearInterval(timer);
        refreshJobPage(page);
      }
    });
  }

  // refreshJobPage swaps in the finished page (player, transcript or error)
  // without the reader reloading; a full reload is the fallback.
  function refreshJobPage(page) {
    fetch(location.href, { headers: { Accept: 'text/html' }, cache: 'no-store', credentials: 'same-origin' })
      .then((res) => {
        if (!res.ok) throw new Error('status ' + res.status);
        return res.text();
      })
      .then((html) => {
        const doc = new DOMParser().parseFromString(html, 'text/html');
        const fresh = byTestId(doc, 'job-page');
        if (!fresh || !isFinal(fresh.dataset.status)) throw new Error('job page not final');
        const node = document.importNode(fresh, true);
        page.replaceWith(node);
        enhance(node);
      })
      .catch(() => location.reload());
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
  if (jobList()) initJobList();
  const jobPageEl = byTestId(document, 'job-page');
  if (jobPageEl) initJobPage(jobPageEl);
})();
