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
    initPlayer(root);
    initEditor(root);
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
  // row; only that row changes. A job the page does not show is added at
  // the top only when it is new since the page was drawn and the page is
  // the first of the unfiltered, newest-first list (data-new-since); other
  // pages keep the rows they were drawn with. On a transient error the
  // browser reconnects by itself and resumes with Last-Event-ID, so errors
  // are left to it.
  function initJobList(list) {
    const empty = byTestId(document, 'job-list-empty');
    const bulk = byTestId(document, 'bulk-delete-form');
    const newSince = Number(list.dataset.newSince || Infinity);
    const findRow = (id) => Array.from(list.children).find((row) => row.dataset.jobId === id);
    const source = new EventSource(list.dataset.stream);
    watchConnection(source);
    source.addEventListener('row', (e) => {
      const fresh = fragment(e.data);
      let row = findRow(fresh.dataset.jobId);
      if (row) morph(row, fresh);
      else if (Number(fresh.dataset.created) > newSince) list.prepend(row = fresh);
      else return;
      localTimes(row);
      empty.hidden = true;
      if (bulk) bulk.hidden = false;
    });
    source.addEventListener('deleted', (e) => {
      const gone = parseJSON(e.data);
      const row = gone && findRow(gone.id);
      if (row) row.remove();
      empty.hidden = list.children.length > 0;
      if (bulk) bulk.hidden = list.children.length === 0;
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
    watchConnection(source);
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

  // timelines caches, per transcript list, its segments and words with
  // their start times in arrays, so following playback is a binary search
  // and touches at most the element that stops and the one that starts
  // being current, however long the transcript (a two-hour one has some
  // 20,000 words).
  const timelines = new WeakMap();

  function track(nodes) {
    const starts = new Float64Array(nodes.length);
    const ends = new Float64Array(nodes.length);
    nodes.forEach((node, i) => {
      starts[i] = parseFloat(node.dataset.start);
      ends[i] = parseFloat(node.dataset.end);
    });
    return { nodes: nodes, starts: starts, ends: ends, current: null };
  }

  function timeline(page) {
    const list = byTestId(page, 'transcript');
    if (!list) return null;
    let line = timelines.get(list);
    if (!line) {
      line = {
        segments: track(Array.from(list.children)),
        words: track(Array.from(list.getElementsByClassName('word'))),
      };
      timelines.set(list, line);
    }
    return line;
  }

  // at is the index of the last of the starts at or before time, or -1.
  function at(starts, time) {
    let lo = 0, hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= time) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  // follow marks what is playing at time in one track; past the end of a
  // thing by more than slack (a pause) nothing is.
  function follow(t, time, slack, mark) {
    const i = at(t.starts, time + 0.05);
    const next = i >= 0 && time <= t.ends[i] + slack ? t.nodes[i] : null;
    if (next === t.current) return false;
    if (t.current) mark(t.current, false);
    if (next) mark(next, true);
    t.current = next;
    return next !== null;
  }

  function highlight(page, time, scroll) {
    const line = timeline(page);
    if (!line) return;
    const moved = follow(line.segments, time, 1, (seg, on) => {
      seg.classList.toggle('is-current', on);
      if (on) seg.setAttribute('aria-current', 'true');
      else seg.removeAttribute('aria-current');
    });
    follow(line.words, time, 0.3, (word, on) => word.classList.toggle('is-current', on));
    if (moved && scroll) line.segments.current.scrollIntoView({ block: 'nearest' });
  }

  function playerOf(node) {
    const page = node.closest('[data-testid="job-page"]') || document;
    return { page: page, audio: byTestId(page, 'player') };
  }

  function play(audio) {
    const playing = audio.play();
    if (playing) playing.catch(() => {}); // autoplay refused: the seek still stands
  }

  function seek(audio, page, time) {
    audio.currentTime = Math.max(0, Math.min(time, audio.duration || Infinity));
    highlight(page, audio.currentTime, false);
  }

  // Clicking a word or a line of the transcript plays from its start. A
  // click that ends a text selection is left alone, so lines can still be
  // copied, and so are clicks while the transcript is being edited.
  document.addEventListener('click', (e) => {
    const seg = e.target.closest && e.target.closest('[data-testid="segment"]');
    if (!seg || seg.closest('.is-editing') || e.target.closest('a')) return;
    if (String(window.getSelection()).length > 0 && !e.target.closest('button')) return;
    const { page, audio } = playerOf(seg);
    const from = e.target.closest('.word') || seg;
    const start = parseFloat(from.dataset.start);
    if (!audio || isNaN(start)) return;
    seek(audio, page, start);
    play(audio);
  });

  // Media events do not bubble, so listen in the capture phase.
  document.addEventListener('timeupdate', (e) => {
    if (!(e.target instanceof HTMLAudioElement)) return;
    const { page } = playerOf(e.target);
    highlight(page, e.target.currentTime, !e.target.paused);
  }, true);

  const SKIP_SECONDS = 5;

  function skip(audio, page, by) {
    seek(audio, page, audio.currentTime + by);
  }

  // changeRate moves the speed select one step and applies it.
  function changeRate(select, audio, step) {
    const i = Math.max(0, Math.min(select.options.length - 1, select.selectedIndex + step));
    select.selectedIndex = i;
    audio.playbackRate = parseFloat(select.value);
  }

  // initPlayer shows the speed and skip controls of a transcript.
  function initPlayer(root) {
    const controls = byTestId(root, 'player-controls');
    if (!controls || controls.dataset.ready) return;
    controls.dataset.ready = 'true';
    controls.hidden = false;
    const { page, audio } = playerOf(controls);
    const rate = byTestId(controls, 'playback-rate');
    byTestId(controls, 'skip-back').addEventListener('click', () => skip(audio, page, -SKIP_SECONDS));
    byTestId(controls, 'skip-forward').addEventListener('click', () => skip(audio, page, SKIP_SECONDS));
    rate.addEventListener('change', () => { audio.playbackRate = parseFloat(rate.value); });
    timeline(page); // measure the words now, not at the first frame of playback
  }

  // seekToHash starts the player at the moment a link names (#t=SECONDS,
  // as search results link to) and brings its line into view.
  function seekToHash() {
    const m = /^#t=(\d+(?:\.\d+)?)$/.exec(location.hash);
    const audio = byTestId(document, 'player');
    if (!m || !audio) return;
    const { page } = playerOf(audio);
    const go = () => {
      seek(audio, page, parseFloat(m[1]));
      const line = timeline(page);
      if (line && line.segments.current) line.segments.current.scrollIntoView({ block: 'center' });
    };
    if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) go();
    else audio.addEventListener('loadedmetadata', go, { once: true });
  }
  window.addEventListener('hashchange', seekToHash);

  // The shortcuts use Alt with a letter (by its key, not the character it
  // types, which Option changes on a Mac) or comma and period: none of them
  // types text or is taken by the browsers, so they work while editing.
  document.addEventListener('keydown', (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const controls = byTestId(document, 'player-controls');
    if (!controls || controls.hidden) return;
    const { page, audio } = playerOf(controls);
    const rate = byTestId(controls, 'playback-rate');
    switch (e.code) {
      case 'KeyK': if (audio.paused) play(audio); else audio.pause(); break;
      case 'KeyJ': skip(audio, page, -SKIP_SECONDS); break;
      case 'KeyL': skip(audio, page, SKIP_SECONDS); break;
      case 'Comma': changeRate(rate, audio, -1); break;
      case 'Period': changeRate(rate, audio, 1); break;
      default: return;
    }
    e.preventDefault();
  });

  // ---- Editor ----

  // initEditor binds the transcript's in-page editor. Editing loads the
  // transcript's JSON, of the revision the page shows (its data-etag),
  // puts each line's text in a text box, and Save sends the whole
  // transcript back with If-Match: that revision. Lines left as they were
  // keep their word timings; edited, split and merged ones are sent
  // without, so the server aligns the old timings (those in each line's
  // span) to the new words. If someone saved in between, the server
  // answers 412 with the current version, shown beside ours.
  function initEditor(root) {
    const view = byTestId(root, 'transcript-view');
    const button = view && byTestId(view, 'edit-transcript');
    if (!button || button.dataset.ready) return;
    button.dataset.ready = 'true';
    button.hidden = false;
    const form = byTestId(view, 'editor');
    const status = byTestId(form, 'editor-status');
    const conflict = byTestId(form, 'conflict');
    const list = byTestId(view, 'transcript');
    let base = null; // the transcript being edited, as the JSON API gives it
    let shown = []; // the page's own lines, put back on cancel
    // rows are the lines being edited, in order: times, speaker, the text
    // and words they were loaded with (text null once split or merged, so
    // the words are never sent), their list item and text box.
    let rows = [];

    button.addEventListener('click', async () => {
      button.disabled = true;
      status.textContent = 'Loading the transcript…';
      const resp = await fetch(view.dataset.json, { cache: 'no-store', headers: { Accept: 'application/json' } }).catch(() => null);
      const body = resp && resp.ok ? parseJSON(await resp.text()) : null;
      button.disabled = false;
      if (!body || resp.headers.get('ETag') !== view.dataset.etag || body.segments.length !== list.children.length) {
        status.textContent = body
          ? 'The transcript was changed since this page was loaded. Reload the page to edit the current version.'
          : 'The transcript could not be loaded. Try again in a moment.';
        return;
      }
      base = body;
      shown = Array.from(list.children);
      rows = shown.map((item, i) => {
        const s = base.segments[i];
        const row = { start: s.start, end: s.end, speaker: s.speaker, text: s.text, words: s.words || [], item: item };
        byTestId(item, 'segment-text').hidden = true;
        byTestId(item, 'segment-text').after(...tools(row, s.text));
        return row;
      });
      renumber();
      view.classList.add('is-editing');
      button.hidden = true;
      form.hidden = false;
      status.textContent = '';
      rows[0].box.focus();
    });

    // tools makes a row's text box, holding text, and its split and merge
    // buttons.
    function tools(row, text) {
      row.box = el('textarea', { class: 'segment-input', rows: Math.max(1, Math.ceil(text.length / 80)), 'data-testid': 'segment-input' });
      row.box.value = text;
      row.split = el('button', { type: 'button', class: 'button-small', 'data-testid': 'split-segment' }, 'Split here');
      row.merge = el('button', { type: 'button', class: 'button-small', 'data-testid': 'merge-segment' }, 'Merge with next');
      row.split.addEventListener('click', () => split(row));
      row.merge.addEventListener('click', () => merge(row));
      return [row.box, el('div', { class: 'segment-tools' }, row.split, row.merge)];
    }

    // renumber labels the text boxes and buttons by their line's place.
    function renumber() {
      rows.forEach((row, i) => {
        const n = i + 1;
        row.box.setAttribute('aria-label', 'Text of line ' + n + ' at ' + clock(row.start));
        row.split.setAttribute('aria-label', 'Split line ' + n + ' at the cursor');
        row.merge.setAttribute('aria-label', 'Merge line ' + n + ' with line ' + (n + 1));
        row.merge.hidden = n === rows.length;
      });
    }

    // split cuts row's line in two at its text box's cursor. The cut is
    // timed at the end of the last word before the cursor, counted in the
    // text, or else in proportion to the characters before it.
    function split(row) {
      const value = row.box.value, at = row.box.selectionStart;
      const head = value.slice(0, at).trim(), tail = value.slice(at).trim();
      const n = rows.indexOf(row) + 1;
      if (!head || !tail) {
        status.textContent = 'Put the cursor in line ' + n + ' where it should be split, then choose Split here.';
        row.box.focus();
        return;
      }
      const count = Math.min(head.split(/\s+/).length, row.words.length);
      const cut = count > 0 ? row.words[count - 1].end : row.start + (row.end - row.start) * at / value.length;
      const time = Math.min(Math.max(cut, row.start), row.end);
      const next = { start: time, end: row.end, speaker: row.speaker, text: null, words: row.words.slice(count) };
      Object.assign(row, { end: time, text: null, words: row.words.slice(0, count) });
      row.box.value = head;
      next.item = el('li', { class: 'segment', 'data-testid': 'segment', 'data-start': time, 'data-end': next.end },
        el('span', { class: 'segment-time' }, clock(time)),
        el('div', { class: 'segment-body' }, ...speakerLabel(row.item), ...tools(next, tail)));
      row.item.after(next.item);
      rows.splice(n, 0, next);
      renumber();
      status.textContent = 'Line ' + n + ' split in two.';
      next.box.focus();
      next.box.setSelectionRange(0, 0);
    }

    // merge joins row's line and the next into one, row's speaker's.
    function merge(row) {
      const n = rows.indexOf(row) + 1;
      const next = rows[n]; // the last line has no merge button
      const head = row.box.value.trim();
      row.box.value = [head, next.box.value.trim()].filter(Boolean).join(' ');
      Object.assign(row, { end: next.end, text: null, words: row.words.concat(next.words) });
      next.item.remove();
      rows.splice(n, 1);
      renumber();
      status.textContent = 'Lines ' + n + ' and ' + (n + 1) + ' merged.';
      row.box.focus();
      row.box.setSelectionRange(head.length, head.length);
    }

    // speakerLabel copies a line's speaker label for a line split from it.
    function speakerLabel(item) {
      const label = byTestId(item, 'segment-speaker');
      return label ? [label.cloneNode(true)] : [];
    }

    function stop() {
      for (const item of shown) {
        byTestId(item, 'segment-text').hidden = false;
        for (const node of item.querySelectorAll('.segment-input, .segment-tools')) node.remove();
      }
      list.replaceChildren(...shown);
      rows = [];
      conflict.replaceChildren();
      status.textContent = '';
      view.classList.remove('is-editing');
      form.hidden = true;
      button.hidden = false;
      button.focus();
    }

    // mine is the transcript as edited: speakers renamed, lines that were
    // edited, split or merged without their words.
    function mine() {
      const names = new Map();
      for (const input of form.querySelectorAll('[data-testid="speaker-name"]')) {
        names.set(input.dataset.speaker, input.value.trim() || input.dataset.speaker);
      }
      return {
        language: base.language,
        segments: rows.map((row) => {
          const out = { start: row.start, end: row.end, text: row.box.value, speaker: names.get(row.speaker) || row.speaker };
          if (row.box.value === row.text) out.words = row.words;
          return out;
        }),
      };
    }

    async function save(etag, transcript) {
      status.textContent = 'Saving…';
      conflict.replaceChildren();
      const resp = await fetch(view.dataset.json, {
        method: 'PUT', body: JSON.stringify(transcript),
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'If-Match': etag },
      }).catch(() => null);
      const body = resp ? parseJSON(await resp.text()) : null;
      if (resp && resp.status === 200) {
        view.dataset.etag = resp.headers.get('ETag');
        status.textContent = 'Saved.';
        location.reload(); // the page draws the saved revision, word timings and all
      } else if (resp && resp.status === 412 && body && body.current) {
        status.textContent = '';
        showConflict(transcript, body.current);
      } else {
        status.textContent = (body && body.error) || 'The transcript could not be saved. Try again in a moment.';
      }
    }

    function version(title, testid, transcript) {
      return el('section', {}, el('h3', {}, title),
        el('ol', { 'data-testid': testid }, ...transcript.segments.map((s) =>
          el('li', {}, clock(s.start) + ' ' + (s.speaker ? s.speaker + ': ' : '') + s.text))));
    }

    function showConflict(transcript, current) {
      const keep = el('button', { type: 'button', class: 'button-primary', 'data-testid': 'keep-mine' }, 'Keep mine (save over)');
      const take = el('button', { type: 'button', class: 'button-small', 'data-testid': 'take-theirs' }, 'Take theirs');
      keep.addEventListener('click', () => save(current.etag, transcript));
      take.addEventListener('click', () => location.reload());
      conflict.replaceChildren(el('div', { class: 'alert alert-warning' },
        el('p', {}, el('strong', {}, 'Someone saved another version while you were editing; yours was not saved.')),
        el('div', { class: 'conflict-versions' },
          version('Your version', 'conflict-mine', transcript),
          version('The current version', 'conflict-theirs', current.transcript)),
        el('div', { class: 'editor-actions' }, keep, take)));
    }

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      save(view.dataset.etag, mine());
    });
    byTestId(form, 'editor-cancel').addEventListener('click', stop);
  }

  // ---- Connection ----

  // watchConnection says so while an EventSource is reconnecting after an
  // error (the browser retries by itself) and clears it once open again.
  function watchConnection(source) {
    const notice = byTestId(document, 'connection-status');
    if (!notice) return;
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CONNECTING) notice.textContent = 'Connection lost — retrying…';
    });
    source.addEventListener('open', () => { notice.textContent = ''; });
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
  seekToHash();
})();
