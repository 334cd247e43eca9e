// The dashboard page: listens to /events (server-sent events; it never sends anything back)
// and draws each update. The task stream and the rate chart are uPlot charts (served from
// node_modules by the scheduler); the task stream paints its bars in uPlot's draw hook on
// uPlot's time and worker scales. Buffers here are bounded like the server's: the stream keeps
// the last `maxTasks` bars, the rate chart the last 300 points, the log the last 200 lines.
// For tests, the stream panel carries `data-bars`: bars drawn per worker row in its window.
(function () {
  'use strict';
  var PALETTE = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#a16207', '#4f46e5', '#0d9488'];
  var TRANSFER = '#dc2626';
  var ERRED = '#111827';
  var WINDOW_MS = 15000;
  var RATE_POINTS = 300;
  var LOG_LINES = 200;

  var colors = new Map();
  var rows = [];
  var bars = [];
  var transfers = [];
  var maxTasks = 5000;
  var last = null;
  var rateX = [];
  var rateY = [];
  var prevDone = null;
  var prevLinks = new Map();
  var rates = new Map();
  var stream;
  var rate;

  function $(id) { return document.getElementById(id); }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; });
  }

  function bytes(n) {
    if (n === null || n === undefined) return '–';
    var units = ['B', 'kB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toPrecision(3) : String(Math.round(n))) + ' ' + units[i];
  }

  function percent(x) { return x === null || x === undefined ? '–' : (x * 100).toFixed(1) + ' %'; }

  function colorOf(group) {
    if (!colors.has(group)) colors.set(group, PALETTE[colors.size % PALETTE.length]);
    return colors.get(group);
  }

  function width(el) { return Math.max(300, el.clientWidth || 600); }

  function xRange() {
    var right = 0;
    var left = Infinity;
    for (var i = 0; i < bars.length; i++) { if (bars[i][3] > right) right = bars[i][3]; if (bars[i][2] < left) left = bars[i][2]; }
    for (var j = 0; j < transfers.length; j++) { if (transfers[j].end > right) right = transfers[j].end; if (transfers[j].start < left) left = transfers[j].start; }
    if (last && last.totals.runsActive > 0 && last.time > right) right = last.time;
    if (!right) { right = last ? last.time : Date.now(); left = right - WINDOW_MS; }
    left = Math.max(left, right - WINDOW_MS);
    if (right - left < 100) left = right - 100;
    return [left / 1000, right / 1000];
  }

  function drawBars(u) {
    var ctx = u.ctx;
    var box = u.bbox;
    var index = new Map(rows.map(function (r, i) { return [r, rows.length - 1 - i]; })); // first worker on top
    var rowPx = rows.length > 1 ? Math.abs(u.valToPos(0, 'y', true) - u.valToPos(1, 'y', true)) : box.height;
    var h = Math.max(2, rowPx * 0.7);
    var range = u.scales.x;
    var drawn = {};
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    function paint(row, start, end, color, thin) {
      var i = index.get(row);
      if (i === undefined || end / 1000 < range.min || start / 1000 > range.max) return false;
      var x0 = u.valToPos(start / 1000, 'x', true);
      var x1 = u.valToPos(end / 1000, 'x', true);
      var y = u.valToPos(i, 'y', true);
      if (y < box.top || y > box.top + box.height) return false;
      var bh = thin ? h * 0.35 : h;
      ctx.fillStyle = color;
      ctx.fillRect(x0, y - (thin ? h / 2 : bh / 2), Math.max(1, x1 - x0), bh);
      return true;
    }
    for (var b = 0; b < bars.length; b++) {
      var bar = bars[b]; // [worker, group, start, end, ok]
      if (paint(bar[0], bar[2], bar[3], bar[4] ? colorOf(bar[1]) : ERRED, false)) drawn[bar[0]] = (drawn[bar[0]] || 0) + 1;
    }
    for (var t = 0; t < transfers.length; t++) paint(transfers[t].to, transfers[t].start, transfers[t].end, TRANSFER, true);
    ctx.restore();
    $('stream').dataset.bars = JSON.stringify(drawn);
  }

  function makeCharts() {
    var streamEl = $('stream');
    stream = new uPlot({
      width: width(streamEl),
      height: 260,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true, auto: false }, y: { auto: false } },
      axes: [
        {},
        {
          size: 110,
          splits: function () { return rows.map(function (_, i) { return i; }); },
          values: function (u, splits) { return splits.map(function (i) { return rows[rows.length - 1 - i] || ''; }); },
        },
      ],
      series: [{}, { scale: 'y', stroke: 'transparent' }],
      hooks: { draw: [drawBars] },
    }, [[0, 1], [null, null]], streamEl);
    var rateEl = $('rate');
    rate = new uPlot({
      width: width(rateEl),
      height: 200,
      legend: { show: false },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max || 0) * 1.1]; } } },
      series: [{}, { label: 'tasks/s', stroke: '#2563eb', fill: 'rgba(37,99,235,0.12)', width: 1.5 }],
    }, [[], []], rateEl);
    window.addEventListener('resize', function () {
      stream.setSize({ width: width(streamEl), height: 260 });
      rate.setSize({ width: width(rateEl), height: 200 });
    });
  }

  function renderTotals(u) {
    var waiting = 0;
    var processing = 0;
    u.groups.forEach(function (g) { waiting += g.waiting; processing += g.processing; });
    $('title').textContent = u.title;
    $('done-total').textContent = String(u.totals.done);
    $('erred-total').textContent = String(u.totals.erred);
    $('waiting-total').textContent = String(waiting);
    $('processing-total').textContent = String(processing);
    $('runs-active').textContent = String(u.totals.runsActive);
    $('runs-total').textContent = String(u.totals.runs);
    $('bytes-moved').textContent = bytes(u.totals.bytesToWorkers + u.totals.bytesFromWorkers + u.totals.bytesBetweenWorkers);
    $('process-rss').textContent = bytes(u.process.rss);
    $('process-cpu').textContent = percent(u.process.cpu);
  }

  function renderProgress(u) {
    var html = u.groups.map(function (g) {
      var total = g.waiting + g.processing + g.done + g.erred || 1;
      var seg = function (cls, n, color) {
        return n ? '<span class="' + cls + '" style="width:' + (100 * n / total).toFixed(2) + '%' + (color ? ';background:' + color : '') + '"></span>' : '';
      };
      return '<div class="group" data-group="' + escapeHtml(g.group) + '">' +
        '<span class="name" style="border-color:' + colorOf(g.group) + '">' + escapeHtml(g.group) + '</span>' +
        '<span class="bar">' + seg('done', g.done, colorOf(g.group)) + seg('processing', g.processing) + seg('erred', g.erred) + '</span>' +
        '<span class="nums">' + g.done + ' done · ' + g.processing + ' processing · ' + g.waiting + ' waiting' + (g.erred ? ' · <b>' + g.erred + ' erred</b>' : '') + '</span></div>';
    }).join('');
    $('progress').innerHTML = html || '<p class="empty">No task yet.</p>';
  }

  function renderWorkers(u) {
    var local = u.workers.every(function (w) { return w.rss === null; });
    $('workers').querySelector('tbody').innerHTML = u.workers.map(function (w) {
      return '<tr data-worker="' + escapeHtml(w.name) + '" class="' + w.status + '">' +
        '<td>' + escapeHtml(w.name) + '</td><td class="status">' + w.status + '</td><td>' + escapeHtml(w.address || '–') + '</td>' +
        '<td>' + w.nthreads + '</td><td>' + w.running + '</td><td>' + w.finished + '</td>' +
        '<td>' + (w.values === null ? 'in scheduler' : w.values) + '</td><td>' + (w.bytes === null ? 'in scheduler' : bytes(w.bytes)) + '</td>' +
        '<td>' + (w.rss === null ? (local ? 'scheduler process' : '–') : bytes(w.rss)) + '</td><td>' + (w.cpu === null ? (local ? 'scheduler process' : '–') : percent(w.cpu)) + '</td></tr>';
    }).join('');
    var held = u.workers.filter(function (w) { return w.bytes !== null && w.status === 'running'; });
    $('holdings-panel').hidden = held.length === 0;
    var most = Math.max.apply(null, held.map(function (w) { return w.bytes; }).concat([1]));
    $('holdings').innerHTML = held.map(function (w) {
      return '<div class="holding"><span class="name">' + escapeHtml(w.name) + '</span><span class="bar"><span style="width:' + (100 * w.bytes / most).toFixed(2) + '%"></span></span><span class="nums">' + bytes(w.bytes) + ' in ' + w.values + ' value(s)</span></div>';
    }).join('');
  }

  function renderBandwidth(u) {
    $('bandwidth-panel').hidden = u.links.length === 0;
    if (!u.links.length) return;
    var t = u.time;
    u.links.forEach(function (l) {
      var id = l.from + '\u0000' + l.to;
      var prev = prevLinks.get(id);
      if (prev && t - prev.time >= 900) {
        rates.set(id, (l.bytes - prev.bytes) / ((t - prev.time) / 1000));
        prevLinks.set(id, { bytes: l.bytes, time: t });
      } else if (!prev) {
        prevLinks.set(id, { bytes: l.bytes, time: t });
      }
    });
    var names = rows.slice();
    var cells = new Map(u.links.map(function (l) { return [l.from + '\u0000' + l.to, l]; }));
    var head = '<tr><th></th>' + names.map(function (n) { return '<th>' + escapeHtml(n) + '</th>'; }).join('') + '</tr>';
    var body = names.map(function (from) {
      return '<tr><th>' + escapeHtml(from) + '</th>' + names.map(function (to) {
        var l = cells.get(from + '\u0000' + to);
        if (!l) return '<td></td>';
        var r = rates.get(from + '\u0000' + to) || 0;
        return '<td title="' + bytes(l.bytes) + ' in total">' + bytes(r) + '/s<br><small>' + bytes(l.bytes) + '</small></td>';
      }).join('') + '</tr>';
    }).join('');
    $('bandwidth').innerHTML = head + body;
  }

  function renderLog(entries) {
    var list = $('log');
    entries.forEach(function (e) {
      var li = document.createElement('li');
      li.className = e.kind;
      li.textContent = new Date(e.time).toLocaleTimeString() + '  ' + e.text;
      list.insertBefore(li, list.firstChild);
    });
    while (list.children.length > LOG_LINES) list.removeChild(list.lastChild);
  }

  function apply(u) {
    maxTasks = u.maxTasks;
    if (u.full) {
      bars = [];
      transfers = [];
      $('log').innerHTML = '';
    }
    bars = bars.concat(u.tasks);
    if (bars.length > maxTasks) bars = bars.slice(bars.length - maxTasks);
    transfers = transfers.concat(u.transfers);
    if (transfers.length > maxTasks) transfers = transfers.slice(transfers.length - maxTasks);
    rows = u.workers.map(function (w) { return w.name; });
    last = u;
    if (prevDone !== null && u.time > rateX[rateX.length - 1] * 1000) {
      var dt = (u.time - rateX[rateX.length - 1] * 1000) / 1000;
      rateX.push(u.time / 1000);
      rateY.push(Math.max(0, (u.totals.done - prevDone) / dt));
      if (rateX.length > RATE_POINTS) { rateX.shift(); rateY.shift(); }
    } else if (prevDone === null) {
      rateX.push(u.time / 1000);
      rateY.push(0);
    }
    prevDone = u.totals.done;
    renderTotals(u);
    renderProgress(u);
    renderWorkers(u);
    renderBandwidth(u);
    renderLog(u.log);
    var legend = [];
    colors.forEach(function (c, g) { legend.push('<span><i style="background:' + c + '"></i>' + escapeHtml(g) + '</span>'); });
    if (transfers.length) legend.push('<span><i style="background:' + TRANSFER + '"></i>transfer</span>');
    $('legend').innerHTML = legend.join('');
    var x = xRange();
    stream.batch(function () {
      stream.setScale('x', { min: x[0], max: x[1] });
      stream.setScale('y', { min: -0.5, max: Math.max(rows.length, 1) - 0.5 });
    });
    rate.setData([rateX, rateY]);
  }

  function start(query) {
    $('panels').hidden = false;
    makeCharts();
    var status = $('connection');
    var source = new EventSource('/events' + query);
    source.onopen = function () { status.textContent = 'live'; status.className = 'connection live'; };
    source.onerror = function () { status.textContent = 'reconnecting…'; status.className = 'connection lost'; };
    source.onmessage = function (e) { apply(JSON.parse(e.data)); };
  }

  window.schedlabDashboard = { start: start };
})();
