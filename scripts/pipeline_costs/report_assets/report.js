/*
 * dbt_pipeline_costs report: draws the dashboards of dashboards/pipeline_costs.yml from the rows embedded
 * in this page (#report-data). Each query's rows were fetched once for "everything"; the filters below
 * (pipelines, dates, run) narrow them here, on the columns each query's `filters` names.
 *
 * Safety: every name from the data reaches the page through textContent, attribute setters or
 * Plotly with < > & escaped (Plotly reads a few HTML tags in its labels); links are made only for
 * http(s) URLs and open in a new tab with rel="noopener noreferrer".
 */
(function () {
  'use strict';

  var ALL = '(all)';
  var MAX_SERIES = 10;          // lines / bars per chart; the rest summed as "other" (stacked) or left out
  var MAX_CATEGORIES = 25;      // bars or boxes along a text axis
  var MAX_POINTS = 2000;        // scatter points (the most expensive first)
  var MAX_LINE_POINTS = 400;    // more runs than this in a chart with series: one point per day (the average)
  var MAX_TIME_BARS = 60;       // more timestamps than this: bars are summed per day
  var PALETTE = ['#2563eb', '#f59e0b', '#10b981', '#8b5cf6', '#ef4444', '#06b6d4', '#ec4899', '#84cc16',
    '#64748b', '#a16207', '#0f766e'];
  var OTHER_COLOR = '#cbd5e1';
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

  var P = JSON.parse(document.getElementById('report-data').textContent);
  var SPEC = P.spec;
  var DATA = {};
  var Plotly = null;

  var state = { pipelines: null, from: P.window.since, to: P.window.until, run: ALL, runA: null, runB: null };
  var renderers = [];   // functions redrawing one widget from the current filters

  // ------------------------------------------------------------------------------------------
  // data

  // Columns come plain, as a dictionary plus indexes, or as dictionary templates where NUL stands for
  // the row's value of column `fill` (report.py: _embedded_dataset).
  function decode(ds) {
    var arrays = [];
    function column(c) {
      if (arrays[c]) return arrays[c];
      var raw = ds.data[c];
      if (Array.isArray(raw)) return (arrays[c] = raw);
      var values = raw.index.map(function (i) { return raw.dict[i]; });
      if (raw.fill != null) {
        var fill = column(raw.fill);
        values = values.map(function (template, r) {
          var at = template == null ? -1 : template.indexOf('\u0000');
          return at < 0 ? template : template.slice(0, at) + (fill[r] == null ? '' : fill[r]) + template.slice(at + 1);
        });
      }
      return (arrays[c] = values);
    }
    ds.columns.forEach(function (name, c) { column(c); });
    var rows = new Array(ds.count);
    for (var r = 0; r < ds.count; r++) {
      var row = {};
      for (var c = 0; c < ds.columns.length; c++) row[ds.columns[c]] = arrays[c][r];
      rows[r] = row;
    }
    var types = {};
    ds.columns.forEach(function (name, i) { types[name] = ds.types[i]; });
    return { columns: ds.columns, types: types, rows: rows };
  }

  function dataset(queryId) {
    return DATA[(P.aliases || {})[queryId] || queryId] || { columns: [], types: {}, rows: [] };
  }

  function param(name) { return SPEC.parameters[name] || { type: 'unknown' }; }

  // The query's rows under the page's controls, on the columns its `filters` names for each parameter:
  // pipeline (the pipeline checkboxes), a date range (from / to), run_id (the run select), run_a and
  // run_b (the run comparison's two selects).
  function filteredRows(queryId) {
    var query = SPEC.queries[queryId];
    var filters = Object.keys(query.filters || {}).map(function (p) { return [p, query.filters[p]]; });
    return dataset(queryId).rows.filter(function (row) {
      for (var i = 0; i < filters.length; i++) {
        var name = filters[i][0], value = row[filters[i][1]], kind = param(name);
        if (kind.type === 'date-range') {
          var day = value == null ? null : String(value).slice(0, 10);
          if (day == null || day < state.from || day > state.to) return false;
        } else if (name === 'run_a' || name === 'run_b') {
          if (value !== state.runA && value !== state.runB) return false;   // the two runs compared
        } else if (name === 'pipeline') {
          if (state.pipelines && !state.pipelines.has(String(value))) return false;
        } else if (name === 'run_id') {
          if (state.run !== ALL && value !== state.run) return false;
        }
      }
      return true;
    });
  }

  function sortRows(rows, sort) {
    if (!sort) return rows.slice();
    var column = sort.replace(/^-/, ''), desc = sort.charAt(0) === '-';
    return rows.slice().sort(function (a, b) {
      var x = a[column], y = b[column];
      if (x == null && y == null) return 0;
      if (x == null) return 1;
      if (y == null) return -1;
      if (x < y) return desc ? 1 : -1;
      if (x > y) return desc ? -1 : 1;
      return 0;
    });
  }

  function sum(values) { var s = 0; values.forEach(function (v) { if (typeof v === 'number') s += v; }); return s; }

  function firstCurrency(rows) {
    for (var i = 0; i < rows.length; i++) if (rows[i].currency) return rows[i].currency;
    return null;
  }

  // ------------------------------------------------------------------------------------------
  // formats

  function isMoney(column) {
    return /(^|_)(cost|costs|saving|savings|budget)$/.test(column) || /_cost$|_saving$|_savings$|monthly_budget/.test(column);
  }
  function isBytes(column) { return /^bytes_|_bytes$/.test(column); }
  function isPct(column) { return /_pct$|_rate$|_share$|_ratio$/.test(column); }
  // The spec's formats: pct holds percents (12.5), ratio fractions of 1 (0.125); unnamed, a column
  // called *_pct is a percent and *_rate, *_share, *_ratio a ratio.
  function columnFormat(column, given) {
    if (given) return given;
    if (isMoney(column)) return 'money';
    if (isBytes(column)) return 'bytes';
    if (isPct(column)) return /_pct$/.test(column) ? 'pct' : 'ratio';
    return null;
  }

  var moneyFormats = {};
  function money(value, currency, compact) {
    if (value == null || value === '') return '';
    var amount = Number(value), code = currency || 'USD', abs = Math.abs(amount);
    var key = code + (compact ? 'c' : '') + (abs === 0 || abs >= 0.01 ? (compact && abs >= 1000 ? '0' : '2') : 's');
    if (!moneyFormats[key]) {
      var options = { style: 'currency', currency: code };
      if (key.slice(-1) === 's') options.maximumSignificantDigits = 2;
      else if (key.slice(-1) === '0') { options.maximumFractionDigits = 0; options.minimumFractionDigits = 0; }
      else { options.minimumFractionDigits = 2; options.maximumFractionDigits = 2; }
      try { moneyFormats[key] = new Intl.NumberFormat('en-US', options); } catch (e) { moneyFormats[key] = null; }
    }
    return moneyFormats[key] ? moneyFormats[key].format(amount) : code + ' ' + amount.toFixed(2);
  }
  function currencySymbol(currency) {
    try {
      var parts = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency || 'USD' }).formatToParts(1);
      var symbol = parts.filter(function (p) { return p.type === 'currency'; })[0];
      return symbol ? symbol.value : '';
    } catch (e) { return ''; }
  }
  // Decimal units (1 GB = 10^9 bytes); round: no trailing zeros (axis ticks).
  function bytes(value, round) {
    if (value == null) return '';
    var amount = Number(value), units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'], i = 0;
    while (Math.abs(amount) >= 1000 && i < units.length - 1) { amount /= 1000; i++; }
    var text = i === 0 ? amount.toFixed(0) : amount.toFixed(Math.abs(amount) >= 100 ? 0 : Math.abs(amount) >= 10 ? 1 : 2);
    return (round ? String(parseFloat(text)) : text) + ' ' + units[i];
  }
  function pct(value, column, ratio) {
    if (value == null) return '';
    var number = ratio ? Number(value) * 100 : Number(value);
    var text = (Math.abs(number) >= 100 ? Math.round(number).toLocaleString('en-US') : number.toFixed(1)) + '%';
    return /change/.test(column || '') && number > 0 ? '+' + text : text;
  }
  function number(value) {
    if (value == null) return '';
    return Number(value).toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) < 10 ? 2 : 1 });
  }
  function datetime(value) { return value == null ? '' : String(value).slice(0, 16).replace('T', ' ') + ' UTC'; }
  function shortTime(value) {
    var d = new Date(String(value).slice(0, 19).replace(' ', 'T') + 'Z');
    if (isNaN(d)) return String(value);
    return d.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC' });
  }
  function longDate(value) {
    var d = new Date(String(value).slice(0, 10) + 'T00:00:00Z');
    return isNaN(d) ? String(value) : d.toLocaleDateString('en-US', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  }
  function formatValue(value, format, column, currency) {
    if (value == null) return '';
    switch (format) {
      case 'money': return money(value, currency);
      case 'bytes': return bytes(value);
      case 'pct': return pct(value, column, false);
      case 'ratio': return pct(value, column, true);
      case 'number': return number(value);
      case 'datetime': return datetime(value);
      case 'date': return String(value).slice(0, 10);
      default: return typeof value === 'number' ? number(value) : String(value);
    }
  }
  function title(column) {
    var text = String(column).replace(/_/g, ' ').replace(/\bpct\b/, '%').replace(/\bs$/, '(s)');
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  // A label that fits: dbt node ids without their type and project, paths by their last two folders,
  // the middle of long names left out.
  function shortName(text, max) {
    text = String(text);
    max = max || 34;
    var node = /^(model|seed|snapshot|test|source|analysis)\.[^.]+\.(.+)$/.exec(text);
    if (node) text = node[2];
    if (text.length > max && text.indexOf('/') > 0) text = '…/' + text.split('/').slice(-2).join('/');
    if (text.length > max) {
      var head = Math.ceil((max - 1) * 0.6);
      text = text.slice(0, head) + '…' + text.slice(text.length - (max - 1 - head));
    }
    return text;
  }
  // Distinct labels for distinct names (Plotly merges equal category labels).
  function uniqueLabels(names, max) {
    var seen = {};
    return names.map(function (name) {
      var label = shortName(name, max), base = label, n = 2;
      while (seen[label]) label = base + ' (' + (n++) + ')';
      seen[label] = true;
      return label;
    });
  }
  // Plotly renders <b>, <br>, <a> ... in labels: names from the data go in escaped.
  function pt(text) {
    return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  // ------------------------------------------------------------------------------------------
  // DOM helpers (text only)

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'className') node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function safeUrl(url) { return typeof url === 'string' && /^https?:\/\/[^\s]+$/i.test(url) ? url : null; }

  // Spec text widgets are Markdown: shown as paragraphs with `code` and **bold**, built from text nodes.
  function markdown(text) {
    var box = el('div');
    String(text).split(/\n\s*\n/).forEach(function (para) {
      var p = el('p');
      String(para).split(/(`[^`]+`|\*\*[^*]+\*\*)/).forEach(function (part) {
        if (/^`[^`]+`$/.test(part)) p.appendChild(el('code', { text: part.slice(1, -1) }));
        else if (/^\*\*[^*]+\*\*$/.test(part)) p.appendChild(el('strong', { text: part.slice(2, -2) }));
        else if (part) p.appendChild(document.createTextNode(part));
      });
      box.appendChild(p);
    });
    return box;
  }

  // ------------------------------------------------------------------------------------------
  // the frame: header, filters, run comparison, one section per dashboard

  var runsQuery = SPEC.queries.pipeline_runs ? 'pipeline_runs' : null;
  var pipelineFilterColumns = Object.keys(SPEC.queries).map(function (id) {
    var q = SPEC.queries[id];
    return q.filters && q.filters.pipeline && DATA[(P.aliases || {})[id] || id] ? [id, q.filters.pipeline] : null;
  }).filter(Boolean);

  function pipelineOptions() {
    var totals = {}, currency = {};
    pipelineFilterColumns.forEach(function (pair) {
      dataset(pair[0]).rows.forEach(function (row) {
        var name = String(row[pair[1]]);
        if (!(name in totals)) totals[name] = 0;
      });
    });
    if (runsQuery) {
      dataset(runsQuery).rows.forEach(function (row) {
        totals[String(row.pipeline_id)] = (totals[String(row.pipeline_id)] || 0) + (row.total_cost || 0);
        currency[String(row.pipeline_id)] = row.currency;
      });
    }
    return Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a] || (a < b ? -1 : 1); })
      .map(function (name) { return { name: name, total: totals[name], currency: currency[name] }; });
  }

  // Runs to choose from: those of the chosen pipelines and dates, newest first.
  function runChoices() {
    if (!runsQuery) return [];
    return sortRows(filteredRows(runsQuery), '-run_started_at');
  }
  function runLabel(row) {
    return row.run_key + '  ·  ' + datetime(row.run_started_at) + '  ·  ' + money(row.total_cost, row.currency);
  }

  function build() {
    var app = document.getElementById('app');
    clear(app);
    document.title = P.title + ' · ' + P.window.since + ' to ' + P.window.until;

    // header
    var source = P.source.kind === 'duckdb'
      ? 'DuckDB ' + String(P.source.path).split('/').pop() + ' (' + P.source.schema + ')'
      : 'dbt target ' + P.source.target + ' (' + P.source.adapter + ')';
    var meta = el('div', { className: 'meta' }, [
      el('strong', { text: longDate(P.window.since) + ' – ' + longDate(P.window.until) }),
      document.createTextNode(' (' + P.window.days + ' days, UTC)  ·  generated ' + datetime(P.generated_at) +
        '  ·  ' + source + '  ·  dbt_pipeline_costs ' + P.version)
    ]);
    var tiles = el('div', { className: 'tiles', id: 'headline' });
    var header = el('header', { className: 'report-header' }, [
      el('div', { className: 'wrap' }, [el('h1', { text: P.title }), meta, tiles])
    ]);
    app.appendChild(header);

    var first = SPEC.dashboards[0];
    headlineTiles(first).forEach(function (key) { tiles.appendChild(tileWidget(key, false)); });

    app.appendChild(filterBar());

    var main = el('main', { className: 'wrap' });
    var toc = el('nav', { className: 'toc', 'aria-label': 'Sections' });
    toc.appendChild(el('a', { href: '#compare', text: 'Run comparison' }));
    SPEC.dashboards.forEach(function (d) { toc.appendChild(el('a', { href: '#dash-' + d.id, text: sectionTitle(d.name) })); });
    main.appendChild(toc);
    main.appendChild(comparisonSection());
    SPEC.dashboards.forEach(function (d, i) { main.appendChild(dashboardSection(d, i === 0)); });
    main.appendChild(el('footer', {
      text: 'Figures from the dbt_pipeline_costs marts; money in the currency beside it, bytes in decimal units ' +
        '(1 GB = 10^9 bytes), times in UTC. The same data: report.json, csv/, report.md next to this file.'
    }));
    app.appendChild(main);
  }

  function sectionTitle(name) { return String(name).replace(/^Pipeline costs:\s*/, '').replace(/^./, function (c) { return c.toUpperCase(); }); }

  // The counters of the first dashboard are the page's headline.
  function headlineTiles(dashboard) {
    return dashboard.widgets.map(function (w) { return w.visualization; }).filter(function (key) {
      return key && viz(key).type === 'counter';
    });
  }

  function viz(key) {
    var parts = key.split('.'), query = SPEC.queries[parts[0]];
    var found = query.visualizations.filter(function (v) { return v.id === parts[1]; })[0];
    return found;
  }

  function filterBar() {
    var bar = el('div', { className: 'filters' });
    var wrap = el('div', { className: 'wrap' });
    bar.appendChild(wrap);

    // pipelines: a checkbox list
    var options = pipelineOptions();
    var summary = el('summary', { text: 'All pipelines (' + options.length + ')' });
    var panel = el('div', { className: 'picker-panel', id: 'filter-pipelines' });
    var boxes = [];
    var actions = el('div', { className: 'picker-actions' }, [
      el('button', { type: 'button', text: 'All', 'data-action': 'all' }),
      el('button', { type: 'button', text: 'None', 'data-action': 'none' })
    ]);
    panel.appendChild(actions);
    options.forEach(function (option) {
      var box = el('input', { type: 'checkbox', value: option.name });
      box.checked = true;
      boxes.push(box);
      panel.appendChild(el('label', {}, [box, el('span', { className: 'name', text: option.name }),
        el('span', { className: 'amount', text: option.currency ? money(option.total, option.currency, true) : '' })]));
    });
    function readPipelines() {
      var chosen = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      state.pipelines = chosen.length === boxes.length ? null : new Set(chosen);
      summary.textContent = state.pipelines === null ? 'All pipelines (' + boxes.length + ')'
        : chosen.length === 1 ? chosen[0] : chosen.length + ' of ' + boxes.length + ' pipelines';
      changed();
    }
    panel.addEventListener('change', readPipelines);
    actions.addEventListener('click', function (event) {
      var action = event.target.getAttribute('data-action');
      if (!action) return;
      boxes.forEach(function (b) { b.checked = action === 'all'; });
      readPipelines();
    });
    var picker = el('details', { className: 'picker' }, [summary, panel]);
    document.addEventListener('click', function (event) { if (!picker.contains(event.target)) picker.open = false; });
    wrap.appendChild(el('label', { className: 'field' }, [el('span', { text: param('pipeline').title || 'Pipelines' }), picker]));

    // dates
    var from = el('input', { type: 'date', id: 'filter-from', min: P.window.since, max: P.window.until, value: P.window.since });
    var to = el('input', { type: 'date', id: 'filter-to', min: P.window.since, max: P.window.until, value: P.window.until });
    function readDates() {
      state.from = from.value || P.window.since;
      state.to = to.value || P.window.until;
      changed();
    }
    from.addEventListener('change', readDates);
    to.addEventListener('change', readDates);
    wrap.appendChild(el('label', { className: 'field' }, [el('span', { text: 'From' }), from]));
    wrap.appendChild(el('label', { className: 'field' }, [el('span', { text: 'To' }), to]));

    // run
    var run = el('select', { id: 'filter-run' });
    run.addEventListener('change', function () { state.run = run.value; changed(); });
    wrap.appendChild(el('label', { className: 'field' }, [el('span', { text: param('run_id').title || 'Run' }), run]));

    var reset = el('button', { type: 'button', text: 'Reset filters', id: 'filter-reset' });
    reset.addEventListener('click', function () {
      boxes.forEach(function (b) { b.checked = true; });
      from.value = P.window.since; to.value = P.window.until; state.run = ALL;
      state.from = P.window.since; state.to = P.window.until;
      readPipelines();
    });
    wrap.appendChild(reset);
    wrap.appendChild(el('div', { className: 'status', id: 'filter-status' }));

    runSelects.push({ select: run, allowAll: true, get: function () { return state.run; } });
    return bar;
  }

  var runSelects = [];   // the run pickers whose options follow the pipeline and date filters

  function fillRunSelects() {
    var choices = runChoices();
    runSelects.forEach(function (picker) {
      var current = picker.get();
      clear(picker.select);
      if (picker.allowAll) picker.select.appendChild(el('option', { value: ALL, text: 'All runs (' + choices.length.toLocaleString('en-US') + ')' }));
      var present = false;
      choices.forEach(function (row) {
        if (row.run_key === current) present = true;
        picker.select.appendChild(el('option', { value: row.run_key, text: runLabel(row) }));
      });
      if (current && current !== ALL && !present) {
        var kept = dataset(runsQuery).rows.filter(function (r) { return r.run_key === current; })[0];
        picker.select.insertBefore(el('option', { value: current, text: kept ? runLabel(kept) : current }), picker.select.firstChild);
      }
      picker.select.value = current || ALL;
    });
  }

  // ------------------------------------------------------------------------------------------
  // run comparison

  function comparisonSection() {
    var section = el('section', { className: 'dashboard', id: 'compare' });
    section.appendChild(el('h2', { text: 'Run comparison' }));
    section.appendChild(el('p', { className: 'description', text: 'Two pipeline runs side by side, model by model: what each cost, and the difference (B − A).' }));
    var card = el('div', { className: 'card' });
    var selectA = el('select', { id: 'compare-a' }), selectB = el('select', { id: 'compare-b' });
    var swap = el('button', { type: 'button', text: '⇄ Swap' });
    card.appendChild(el('div', { className: 'compare-controls' }, [
      el('label', { className: 'field' }, [el('span', { text: param('run_a').title || 'Run A' }), selectA]),
      el('label', { className: 'field' }, [el('span', { text: param('run_b').title || 'Run B' }), selectB]),
      swap
    ]));
    var summary = el('div', { className: 'compare-summary', id: 'compare-summary' });
    var tableBox = el('div', { className: 'table-wrap' });
    card.appendChild(summary);
    card.appendChild(tableBox);
    section.appendChild(card);

    selectA.addEventListener('change', function () { state.runA = selectA.value; redraw(); });
    selectB.addEventListener('change', function () { state.runB = selectB.value; redraw(); });
    swap.addEventListener('click', function () { var a = state.runA; state.runA = state.runB; state.runB = a; fillRunSelects(); redraw(); });
    runSelects.push({ select: selectA, allowAll: false, get: function () { return state.runA; } });
    runSelects.push({ select: selectB, allowAll: false, get: function () { return state.runB; } });

    renderers.push(function () { drawComparison(summary, tableBox); });
    return section;
  }

  // Default pair: the newest run (B) and the run before it of the same pipeline (A).
  function defaultPair() {
    var runs = runChoices();
    if (!runs.length) return [null, null];
    var b = runs[0];
    var a = runs.filter(function (r) { return r.pipeline_id === b.pipeline_id && r.run_key !== b.run_key; })[0] || runs[1] || b;
    return [a.run_key, b.run_key];
  }

  function comparisonQuery() {
    var ids = Object.keys(SPEC.queries).filter(function (id) {
      var f = SPEC.queries[id].filters || {};
      return 'run_a' in f && 'run_b' in f;
    });
    return ids[0] || null;
  }

  function drawComparison(summary, tableBox) {
    clear(summary); clear(tableBox);
    var queryId = comparisonQuery();
    if (!queryId || !state.runA || !state.runB) {
      tableBox.appendChild(el('div', { className: 'empty', text: 'No runs in the chosen pipelines and dates.' }));
      return;
    }
    var runColumn = SPEC.queries[queryId].filters.run_a;
    var rows = dataset(queryId).rows;
    var byModel = {}, order = [], totals = { a: 0, b: 0 }, currency = null;
    rows.forEach(function (row) {
      var sides = [];
      if (row[runColumn] === state.runA) sides.push('a');
      if (row[runColumn] === state.runB) sides.push('b');
      if (!sides.length) return;
      var key = row.node_id != null ? row.node_id : row.model_name;
      if (!byModel[key]) { byModel[key] = { name: row.model_name, file: row.original_file_path, a: null, b: null }; order.push(key); }
      sides.forEach(function (side) {
        byModel[key][side] = (byModel[key][side] || 0) + (row.cost || 0);
        totals[side] += row.cost || 0;
      });
      currency = currency || row.currency;
    });
    var runInfo = {};
    if (runsQuery) dataset(runsQuery).rows.forEach(function (r) { if (r.run_key === state.runA || r.run_key === state.runB) runInfo[r.run_key] = r; });
    var diff = totals.b - totals.a;
    [['Run A', state.runA, totals.a, 'a'], ['Run B', state.runB, totals.b, 'b']].forEach(function (item) {
      var info = runInfo[item[1]];
      summary.appendChild(el('div', { className: 'tile' }, [
        el('div', { className: 'tile-label', text: item[0] }),
        el('div', { className: 'tile-value', text: money(item[2], currency), 'data-total': item[3], 'data-value': String(item[2]) }),
        el('div', { className: 'tile-detail', text: info ? info.pipeline_id + ' · run ' + info.pipeline_run_id + ' · ' + datetime(info.run_started_at) : item[1] })
      ]));
    });
    var diffPct = totals.a ? diff / totals.a * 100 : null;
    summary.appendChild(el('div', { className: 'tile' }, [
      el('div', { className: 'tile-label', text: 'Difference (B − A)' }),
      el('div', { className: 'tile-value ' + (diff > 0 ? 'up' : diff < 0 ? 'down' : ''), text: (diff > 0 ? '+' : '') + money(diff, currency), 'data-total': 'diff', 'data-value': String(diff) }),
      el('div', { className: 'tile-detail', text: diffPct == null ? '' : (diffPct > 0 ? '+' : '') + diffPct.toFixed(1) + '% against run A' })
    ]));

    var lines = order.map(function (k) { return byModel[k]; });
    lines.sort(function (x, y) { return Math.abs((y.b || 0) - (y.a || 0)) - Math.abs((x.b || 0) - (x.a || 0)); });
    var table = el('table', { className: 'data-table', id: 'compare-table' });
    var head = el('tr', {}, ['Model', 'File', 'Run A', 'Run B', 'Difference'].map(function (t, i) {
      return el('th', { text: t, className: i > 1 ? 'num' : '' });
    }));
    table.appendChild(el('thead', {}, [head]));
    var body = el('tbody');
    lines.forEach(function (line) {
      var d = (line.b || 0) - (line.a || 0);
      body.appendChild(el('tr', {}, [
        el('td', { text: line.name == null ? '' : line.name }),
        el('td', { text: line.file == null ? '' : line.file }),
        el('td', { className: 'num', text: line.a == null ? '–' : money(line.a, currency) }),
        el('td', { className: 'num', text: line.b == null ? '–' : money(line.b, currency) }),
        el('td', { className: 'num ' + (d > 0 ? 'up' : d < 0 ? 'down' : ''), text: (d > 0 ? '+' : '') + money(d, currency) })
      ]));
    });
    table.appendChild(body);
    table.appendChild(el('tfoot', {}, [el('tr', {}, [
      el('td', { text: 'Total (' + lines.length + ' models)' }), el('td'),
      el('td', { className: 'num', text: money(totals.a, currency) }),
      el('td', { className: 'num', text: money(totals.b, currency) }),
      el('td', { className: 'num ' + (diff > 0 ? 'up' : diff < 0 ? 'down' : ''), text: (diff > 0 ? '+' : '') + money(diff, currency) })
    ])]));
    tableBox.appendChild(table);
  }

  // ------------------------------------------------------------------------------------------
  // dashboards

  function dashboardSection(dashboard, isHeadline) {
    var section = el('section', { className: 'dashboard', id: 'dash-' + dashboard.id });
    section.appendChild(el('h2', { text: sectionTitle(dashboard.name) }));
    section.appendChild(el('p', { className: 'description', text: dashboard.description }));
    var grid = el('div', { className: 'grid' });
    dashboard.widgets.forEach(function (w) {
      if (w.text) {
        grid.appendChild(el('div', { className: 'card text-card' + (w.width === 2 ? ' wide' : '') }, [markdown(w.text)]));
        return;
      }
      var v = viz(w.visualization);
      if (v.type === 'counter') {
        if (!isHeadline) grid.appendChild(el('div', { className: 'card tile-card' + (w.width === 2 ? ' wide' : '') }, [tileWidget(w.visualization, true)]));
        return;
      }
      grid.appendChild(widgetCard(w, v));
    });
    section.appendChild(grid);
    return section;
  }

  function widgetCard(widget, v) {
    var card = el('div', { className: 'card' + (widget.width === 2 ? ' wide' : ''), 'data-card': widget.visualization });
    card.appendChild(el('h3', { text: v.name }));
    if (v.description) card.appendChild(el('p', { className: 'description', text: v.description }));
    var note = el('p', { className: 'note' });
    card.appendChild(note);
    var body = el('div');
    card.appendChild(body);
    renderers.push(function () {
      note.textContent = '';
      var rows = filteredRows(v.query);
      if (v.type === 'table') return drawTable(body, v, rows, note, widget.visualization);
      drawChart(body, v, rows, note, widget.visualization, widget.width === 2);
    });
    return card;
  }

  function tileWidget(key, inCard) {
    var v = viz(key);
    var tile = el('div', { className: 'tile', 'data-viz': key });
    var label = el('div', { className: 'tile-label', text: v.name });
    var value = el('div', { className: 'tile-value' });
    var detail = el('div', { className: 'tile-detail' });
    tile.appendChild(label); tile.appendChild(value); tile.appendChild(detail);
    tile.title = v.label || v.name;
    renderers.push(function () { drawTile(v, value, detail); });
    return tile;
  }

  var BUDGET = {
    crossed: ['Over budget', 'bad'], projected_to_cross: ['Projected over budget', 'warn'],
    within_budget: ['Within budget', 'good'], no_budget: ['No budget set', 'none'], not_forecast: ['No forecast yet', 'none']
  };

  function drawTile(v, value, detail) {
    var rows = sortRows(filteredRows(v.query), v.sort);
    var row = rows[0];
    clear(detail);
    value.className = 'tile-value';
    if (!row || row[v.value] == null) {
      value.textContent = '–';
      detail.appendChild(el('span', { className: 'muted', text: row ? 'not available for this run' : 'no data for the chosen filters' }));
      return;
    }
    var amount = row[v.value], currency = row.currency;
    var format = v.format || columnFormat(v.value);
    value.textContent = format === 'money' ? money(amount, currency, true) : formatValue(amount, format, v.value, currency);
    value.setAttribute('data-value', String(amount));
    if ((format === 'pct' || format === 'ratio') && /change/.test(v.value)) value.className = 'tile-value ' + (amount > 0 ? 'up' : amount < 0 ? 'down' : '');
    var lines = [];
    if (row.pipeline_id != null && row.run_started_at != null) {
      lines.push(String(row.pipeline_id) + ' · ' + shortTime(row.run_started_at) + ' UTC');
    }
    if (v.target && row[v.target] != null && !/budget/.test(v.target)) {
      lines.push('vs ' + formatValue(row[v.target], columnFormat(v.target), v.target, currency));
    } else if (/change/.test(v.value) && row.previous_run_cost != null) {
      lines.push('vs ' + money(row.previous_run_cost, currency) + ' the run before');
    }
    var stem = String(v.value).replace(/_cost$/, '');
    if (row[stem + '_lower_cost'] != null && row[stem + '_upper_cost'] != null) {
      lines.push('likely ' + money(row[stem + '_lower_cost'], currency, true) + ' – ' + money(row[stem + '_upper_cost'], currency, true) +
        (row.month_end_date ? ' by ' + longDate(row.month_end_date) : ''));
    }
    if (row.kind != null && row.subject != null) lines.push(String(row.kind).replace(/_/g, ' ') + ': ' + shortName(row.subject, 60));
    if (/saving/.test(v.value)) value.textContent += ' / mo';
    lines.forEach(function (line) { detail.appendChild(el('div', { text: line })); });
    if (row.budget_status != null) {
      var status = BUDGET[row.budget_status] || [String(row.budget_status).replace(/_/g, ' '), 'none'];
      var text = status[0] + (row.monthly_budget != null ? ' (' + money(row.monthly_budget, currency, true) + ')' : '');
      detail.appendChild(el('span', { className: 'badge ' + status[1], text: text }));
    }
  }

  // ------------------------------------------------------------------------------------------
  // tables

  function drawTable(body, v, rows, note, key) {
    clear(body);
    if (!rows.length) { body.appendChild(el('div', { className: 'empty', text: 'No rows for the chosen pipelines, dates and run.' })); return; }
    var sorted = sortRows(rows, v.sort);
    var shown = v.top ? sorted.slice(0, v.top) : sorted;
    if (shown.length < sorted.length) note.textContent = 'The first ' + shown.length.toLocaleString('en-US') + ' of ' + sorted.length.toLocaleString('en-US') + ' rows.';
    var columns = v.columns.filter(function (c) { return !(c.name === 'currency' && v.columns.some(function (o) { return (o.format || columnFormat(o.name)) === 'money'; })); });
    var table = el('table', { className: 'data-table', 'data-viz': key });
    table.appendChild(el('thead', {}, [el('tr', {}, columns.map(function (c) {
      var format = c.format || columnFormat(c.name);
      return el('th', { text: c.title, className: format && format !== 'datetime' && format !== 'date' ? 'num' : '' });
    }))]));
    var tbody = el('tbody');
    shown.forEach(function (row) {
      var tr = el('tr');
      columns.forEach(function (c) {
        var format = c.format || columnFormat(c.name);
        var text = formatValue(row[c.name], format, c.name, row.currency);
        var td = el('td', { className: format === 'datetime' || format === 'date' ? 'time' : format ? 'num' : '' });
        var url = c.link ? safeUrl(row[c.link]) : null;
        if (url) {
          var a = el('a', { target: '_blank', rel: 'noopener noreferrer', text: text });
          a.href = url;
          td.appendChild(a);
        } else {
          td.textContent = text;
        }
        if ((format === 'pct' || format === 'ratio') && /change/.test(c.name) && row[c.name] != null) td.className += row[c.name] > 0 ? ' up' : row[c.name] < 0 ? ' down' : '';
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    body.appendChild(el('div', { className: 'table-wrap' }, [table]));
  }

  // ------------------------------------------------------------------------------------------
  // charts (Plotly)

  function axisFor(column, values, currency) {
    var format = columnFormat(column);
    var axis = { title: { text: title(column) + (format === 'money' && currency ? ' (' + currency + ')' : ''), font: { size: 12 } },
      gridcolor: '#eef0f3', zeroline: false, automargin: true, linecolor: '#d1d5db' };
    var max = 0;
    values.forEach(function (x) { if (typeof x === 'number' && Math.abs(x) > max) max = Math.abs(x); });
    if (format === 'money') {
      axis.tickprefix = currencySymbol(currency);
      axis.tickformat = max >= 1000 ? ',.0f' : max >= 1 ? ',.2~f' : ',.4~f';
    } else if (format === 'bytes') {
      axis.tickformat = '.2~s'; axis.ticksuffix = 'B';
    } else if (format === 'pct') {
      axis.ticksuffix = '%';
    } else if (format === 'ratio') {
      axis.tickformat = '.0%';
    }
    return axis;
  }

  function hoverValue(column, value, currency) {
    var format = columnFormat(column);
    return format ? formatValue(value, format, column, currency) : typeof value === 'number' ? number(value) : String(value);
  }

  function layoutBase(wide) {
    return {
      height: wide ? 380 : 330, margin: { l: 56, r: 16, t: 10, b: 44 }, paper_bgcolor: '#fff', plot_bgcolor: '#fff',
      font: { family: FONT, size: 12, color: '#1f2937' }, hovermode: 'closest', hoverlabel: { namelength: -1, font: { family: FONT } },
      legend: { font: { size: 11 }, bgcolor: 'rgba(255,255,255,0.8)' }, showlegend: true
    };
  }

  // One entry: no legend, unless it names the series (which pipeline is drawn).
  function legendFor(count, layout, named) {
    if (count < 1 || (count === 1 && !named)) { layout.showlegend = false; return; }
    if (count <= 4) { layout.legend.orientation = 'h'; layout.legend.x = 0; layout.legend.y = 1.02; layout.legend.yanchor = 'bottom'; layout.margin.t = 30; }
    else { layout.legend.orientation = 'v'; layout.legend.x = 1.01; layout.legend.y = 1; layout.legend.xanchor = 'left'; }
  }

  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toggleSpikelines'] };

  function drawChart(body, v, rows, note, key, wide) {
    var plot = body.querySelector('.chart');
    var spec = null;
    if (rows.length) {
      spec = ({ line: lineChart, area: lineChart, column: columnChart, scatter: scatterChart, heatmap: heatmapChart, box: boxChart })[v.type](v, rows, wide);
    }
    if (!spec || !spec.traces.length) {
      if (plot) { Plotly.purge(plot); }
      clear(body);
      body.appendChild(el('div', { className: 'empty', text: spec && spec.empty ? spec.empty : 'No data for the chosen pipelines, dates and run.' }));
      return;
    }
    if (!plot) {
      clear(body);
      plot = el('div', { className: 'chart', 'data-viz': key });
      body.appendChild(plot);
    }
    note.textContent = spec.notes.join(' ');
    Plotly.react(plot, spec.traces, spec.layout, CONFIG);
  }

  function groupBy(rows, column) {
    var groups = {}, order = [];
    rows.forEach(function (row) {
      var k = column ? String(row[column]) : '';
      if (!groups[k]) { groups[k] = []; order.push(k); }
      groups[k].push(row);
    });
    return { groups: groups, order: order };
  }

  function rankKeys(grouped, measure) {
    return grouped.order.slice().sort(function (a, b) {
      return sum(grouped.groups[b].map(measure)) - sum(grouped.groups[a].map(measure));
    });
  }

  // A chart without a series over a query filtered by pipeline draws one pipeline at a time.
  function onePipeline(v, rows, notes) {
    var column = (SPEC.queries[v.query].filters || {}).pipeline;
    if (v.series || !column) return rows;
    var grouped = groupBy(rows, column);
    if (grouped.order.length <= 1) return rows;
    var top = rankKeys(grouped, function (r) { return r[v.y[0]]; })[0];
    notes.push('Showing ' + top + ', the most expensive of the ' + grouped.order.length + ' pipelines chosen; choose one pipeline in the filters to see another.');
    return grouped.groups[top];
  }

  function styleFor(column, index) {
    if (/anomal/.test(column)) return { color: '#dc2626', dash: 'solid', marker: 9 };
    if (/rolling|avg|average/.test(column)) return { color: '#6b7280', dash: 'dash' };
    if (/budget|goal/.test(column)) return { color: '#b91c1c', dash: 'dashdot' };
    if (/predicted|forecast/.test(column)) return { color: PALETTE[index % PALETTE.length], dash: 'dot' };
    return { color: PALETTE[index % PALETTE.length], dash: 'solid' };
  }

  // Several series over many runs: each day's average per series (a point per run would be noise).
  function dailyAverage(v, rows, notes) {
    var xType = dataset(v.query).types[v.x];
    if (!v.series || xType !== 'datetime' || rows.length <= MAX_LINE_POINTS) return rows;
    var cells = {}, order = [];
    rows.forEach(function (r) {
      var key = String(r[v.series]) + '\u0000' + String(r[v.x]).slice(0, 10);
      if (!cells[key]) { cells[key] = { row: {}, n: {}, sums: {} }; order.push(key); cells[key].row[v.series] = r[v.series]; cells[key].row[v.x] = String(r[v.x]).slice(0, 10); cells[key].row.currency = r.currency; }
      v.y.forEach(function (y) {
        if (r[y] == null) return;
        cells[key].sums[y] = (cells[key].sums[y] || 0) + r[y];
        cells[key].n[y] = (cells[key].n[y] || 0) + 1;
      });
    });
    notes.push('Each point is a day\'s average over its runs (' + rows.length.toLocaleString('en-US') + ' runs); choose fewer pipelines or days to see single runs.');
    return order.map(function (key) {
      var cell = cells[key];
      v.y.forEach(function (y) { cell.row[y] = cell.n[y] ? cell.sums[y] / cell.n[y] : null; });
      return cell.row;
    });
  }

  // Running totals per month (cumulative_*) start again each month: the line breaks there.
  function monthBreaks(column, xs, ys) {
    if (!/^cumulative/.test(column)) return;
    for (var i = xs.length - 1; i > 0; i--) {
      if (String(xs[i]).slice(0, 7) !== String(xs[i - 1]).slice(0, 7)) { xs.splice(i, 0, xs[i]); ys.splice(i, 0, null); }
    }
  }

  function lineChart(v, rows, wide) {
    var notes = [], layout = layoutBase(wide), traces = [];
    rows = onePipeline(v, rows, notes);
    rows = dailyAverage(v, rows, notes);
    rows = sortRows(rows, v.x);
    var currency = firstCurrency(rows);
    var ys = v.y.filter(function (y) { return rows.some(function (r) { return r[y] != null; }); });
    // With series, a y column holding one value everywhere (a goal) is drawn once, as a reference line.
    var constant = !v.series ? [] : ys.slice(1).filter(function (y) {
      var values = new Set(rows.map(function (r) { return r[y]; }).filter(function (x) { return x != null; }));
      return values.size === 1;
    });
    var perSeries = ys.filter(function (y) { return constant.indexOf(y) < 0; });
    var grouped = groupBy(rows, v.series);
    var keys = rankKeys(grouped, function (r) { return r[v.y[0]]; });
    if (v.series && keys.length > MAX_SERIES) {
      notes.push('The ' + MAX_SERIES + ' largest of ' + keys.length + ' ' + title(v.series).toLowerCase() + 's; narrow the filters to see others.');
      keys = keys.slice(0, MAX_SERIES);
    }
    var labels = uniqueLabels(keys, wide ? 40 : 32);
    var band = perSeries.filter(function (y) { return /^lower_/.test(y) && perSeries.indexOf(y.replace(/^lower_/, 'upper_')) >= 0; });
    var yValues = [];
    keys.forEach(function (k, gi) {
      var group = grouped.groups[k];
      perSeries.forEach(function (y, yi) {
        if (/^upper_/.test(y) && band.indexOf(y.replace(/^upper_/, 'lower_')) >= 0) return;
        var points = group.filter(function (r) { return r[y] != null; });
        if (!points.length) return;
        var xs = points.map(function (r) { return r[v.x]; }), vals = points.map(function (r) { return r[y]; });
        yValues = yValues.concat(vals);
        var style = v.series ? { color: PALETTE[gi % PALETTE.length], dash: ['solid', 'dot', 'dash', 'dashdot'][yi % 4] } : styleFor(y, yi);
        var name = v.series ? labels[gi] + (perSeries.length > 1 && yi > 0 ? ' · ' + title(y).toLowerCase() : '') : title(y);
        var full = v.series ? k : title(y);
        if (band.indexOf(y) >= 0) {
          var upper = y.replace(/^lower_/, 'upper_');
          var upperPoints = group.filter(function (r) { return r[upper] != null; });
          traces.push({ type: 'scatter', mode: 'lines', x: xs, y: vals, line: { width: 0, color: style.color }, hoverinfo: 'skip', showlegend: false, legendgroup: 'band' + gi });
          traces.push({ type: 'scatter', mode: 'lines', x: upperPoints.map(function (r) { return r[v.x]; }), y: upperPoints.map(function (r) { return r[upper]; }),
            fill: 'tonexty', fillcolor: 'rgba(37,99,235,0.14)', line: { width: 0, color: style.color }, name: 'Likely range',
            legendgroup: 'band' + gi, hoverinfo: 'skip' });
          yValues = yValues.concat(upperPoints.map(function (r) { return r[upper]; }));
          return;
        }
        var text = points.map(function (r) { return pt(hoverValue(y, r[y], r.currency)); });
        monthBreaks(y, xs, vals);
        monthBreaks(y, [].concat(points.map(function (r) { return r[v.x]; })), text);
        var kind = (v.series_types || {})[y];
        var trace = {
          type: kind === 'column' ? 'bar' : 'scatter', x: xs, y: vals, name: pt(name), text: text,
          hovertemplate: '<b>' + pt(full) + '</b><br>%{x}<br>' + pt(title(y)) + ': %{text}<extra></extra>',
          showlegend: !(v.series && yi > 0)
        };
        if (v.series) trace.legendgroup = 'g' + gi;
        if (kind === 'scatter') {
          trace.mode = 'markers';
          trace.marker = { color: style.color, size: style.marker || 8, line: { color: '#fff', width: 1 } };
        } else if (kind !== 'column') {
          trace.mode = points.length <= 60 ? 'lines+markers' : 'lines';
          trace.line = { color: style.color, width: v.series ? 1.5 : 2, dash: style.dash };
          trace.marker = { size: 5, color: style.color };
          if (v.type === 'area') trace.fill = 'tozeroy';
        }
        traces.push(trace);
      });
    });
    constant.forEach(function (y) {
      var value = rows.filter(function (r) { return r[y] != null; })[0][y];
      var xs = rows.map(function (r) { return r[v.x]; });
      var style = styleFor(y, 0);
      traces.push({ type: 'scatter', mode: 'lines', x: [xs[0], xs[xs.length - 1]], y: [value, value], name: title(y) + ': ' + hoverValue(y, value, currency),
        line: { color: /goal|budget/.test(y) ? '#b91c1c' : '#6b7280', dash: 'dashdot', width: 1.5 }, hoverinfo: 'name' });
      yValues.push(value);
    });
    if (v.series && perSeries.length > 1) {
      notes.push(perSeries.map(function (y, i) { return ['solid', 'dotted', 'dashed', 'dash-dotted'][i % 4] + ': ' + title(y).toLowerCase(); }).join(', ') + '.');
    }
    var missing = v.y.filter(function (y) { return ys.indexOf(y) < 0; });
    if (missing.length) {
      notes.push('No ' + missing.map(function (y) { return title(y).toLowerCase(); }).join(', ') +
        (missing.some(function (y) { return /budget/.test(y); }) ? ': no budget is set (var dbt_pipeline_costs_monthly_budget).' : ' in these rows.'));
    }
    layout.xaxis = axisFor(v.x, [], currency);
    layout.xaxis.title.text = '';
    layout.yaxis = axisFor(v.y[0], yValues, currency);
    layout.yaxis.rangemode = 'tozero';
    if (ys.length > 1 && ys.every(isMoney)) layout.yaxis.title.text = 'Cost' + (currency ? ' (' + currency + ')' : '');
    legendFor(traces.filter(function (t) { return t.showlegend !== false; }).length, layout, !!v.series);
    return { traces: traces, layout: layout, notes: notes };
  }

  function columnChart(v, rows, wide) {
    var notes = [], layout = layoutBase(wide), traces = [];
    var currency = firstCurrency(rows);
    var ds = dataset(v.query), xType = ds.types[v.x];
    var xOf = function (r) { return r[v.x]; };
    var distinct = new Set(rows.map(xOf));
    if (xType === 'datetime' && distinct.size > MAX_TIME_BARS) {
      xOf = function (r) { return String(r[v.x]).slice(0, 10); };
      notes.push('Summed per day (' + distinct.size.toLocaleString('en-US') + ' runs); choose one pipeline and fewer days, or a run, to see single runs.');
      xType = 'date';
    }
    var comparison = 'run_a' in (SPEC.queries[v.query].filters || {});
    // sums per x, per series (or per y column when there is no series)
    var seriesKeys;
    if (v.series) {
      seriesKeys = rankKeys(groupBy(rows, v.series), function (r) { return r[v.y[0]]; });
      if (comparison) seriesKeys = [state.runA, state.runB].filter(function (k, i, all) { return seriesKeys.indexOf(k) >= 0 && all.indexOf(k) === i; });
    } else {
      seriesKeys = v.y.slice();
    }
    var cells = {}, xs = [], xTotals = {};
    rows.forEach(function (r) {
      var x = xOf(r);
      if (!(x in cells)) { cells[x] = {}; xs.push(x); xTotals[x] = 0; }
      if (v.series) {
        var s = String(r[v.series]), value = r[v.y[0]] || 0;
        cells[x][s] = (cells[x][s] || 0) + value;
        xTotals[x] += Math.abs(value);
      } else {
        v.y.forEach(function (y) { cells[x][y] = (cells[x][y] || 0) + (r[y] || 0); xTotals[x] += Math.abs(r[y] || 0); });
      }
    });
    var horizontal = xType === 'text';
    if (horizontal) {
      xs.sort(function (a, b) { return xTotals[b] - xTotals[a]; });
      if (xs.length > MAX_CATEGORIES) { notes.push('The ' + MAX_CATEGORIES + ' largest of ' + xs.length + '.'); xs = xs.slice(0, MAX_CATEGORIES); }
    } else {
      xs.sort();
    }
    var other = [];
    if (v.series && seriesKeys.length > MAX_SERIES + 1) {
      other = seriesKeys.slice(MAX_SERIES);
      seriesKeys = seriesKeys.slice(0, MAX_SERIES);
    }
    var categorical = xType === 'datetime';
    var xLabels = horizontal ? uniqueLabels(xs, 44).map(pt) : xs.map(function (x) { return categorical ? shortTime(x) : x; });
    var names = v.series ? uniqueLabels(seriesKeys, wide ? 40 : 32) : seriesKeys.map(function (y) { return title(y).replace(/^Unattributed /, 'Unattributed: '); });
    if (comparison) names = names.map(function (n, i) { return (seriesKeys[i] === state.runA ? 'A: ' : 'B: ') + n; });
    function bar(ys, name, full, color, column) {
      var trace = {
        type: 'bar', name: pt(name), marker: { color: color },
        text: ys.map(function (y) { return pt(hoverValue(column, y, currency)); }), textposition: 'none',
        hovertemplate: '<b>' + pt(full) + '</b><br>%{' + (horizontal ? 'y' : 'x') + '}<br>%{text}<extra></extra>'
      };
      if (horizontal) { trace.orientation = 'h'; trace.y = xLabels; trace.x = ys; } else { trace.x = xLabels; trace.y = ys; }
      traces.push(trace);
    }
    var yValues = [];
    seriesKeys.forEach(function (s, i) {
      var ys = xs.map(function (x) { return cells[x][s] || 0; });
      if (!v.series && sum(ys) === 0) return;
      yValues = yValues.concat(ys);
      bar(ys, names[i], v.series ? s : names[i], PALETTE[i % PALETTE.length], v.series ? v.y[0] : s);
    });
    if (other.length) {
      var ys = xs.map(function (x) { return sum(other.map(function (s) { return cells[x][s] || 0; })); });
      if (v.stacking) {
        bar(ys, 'Other ' + other.length, 'Other ' + other.length + ' ' + title(v.series).toLowerCase() + 's', OTHER_COLOR, v.y[0]);
        notes.push('The ' + MAX_SERIES + ' largest ' + title(v.series).toLowerCase() + 's; the other ' + other.length + ' summed as "Other".');
      } else {
        notes.push('The ' + MAX_SERIES + ' largest of ' + (seriesKeys.length + other.length) + ' ' + title(v.series).toLowerCase() + 's.');
      }
    }
    layout.barmode = v.stacking ? 'stack' : 'group';
    layout.bargap = 0.2;
    var valueAxis = axisFor(v.y[0], v.stacking ? xs.map(function (x) { return xTotals[x]; }) : yValues, currency);
    if (!v.series && v.y.length > 1 && v.y.every(isMoney)) valueAxis.title.text = 'Cost' + (currency ? ' (' + currency + ')' : '');
    var categoryAxis = axisFor(v.x, [], currency);
    categoryAxis.title.text = '';
    if (horizontal) {
      categoryAxis.type = 'category'; categoryAxis.autorange = 'reversed';
      layout.xaxis = valueAxis; layout.yaxis = categoryAxis;
      layout.height = Math.max(layout.height, 80 + xs.length * (v.series && !v.stacking ? 14 * seriesKeys.length + 8 : 26));
      layout.margin.l = 12;
    } else {
      if (categorical) { categoryAxis.type = 'category'; categoryAxis.tickangle = -40; }
      layout.xaxis = categoryAxis; layout.yaxis = valueAxis;
    }
    legendFor(traces.length, layout);
    return { traces: traces, layout: layout, notes: notes };
  }

  function logScale(values) {
    var positive = values.filter(function (x) { return typeof x === 'number' && x > 0; });
    if (positive.length < 2) return false;
    var min = Math.min.apply(null, positive), max = Math.max.apply(null, positive);
    return max / min > 1000;
  }

  // Log axes with ticks at powers of ten, labelled in the column's own format ($0.001, 10 GB, ...).
  function logAxis(axis, column, values, currency) {
    var positive = values.filter(function (x) { return typeof x === 'number' && x > 0; });
    var low = Math.floor(Math.log10(Math.min.apply(null, positive))), high = Math.ceil(Math.log10(Math.max.apply(null, positive)));
    var format = columnFormat(column), vals = [], text = [];
    for (var e = low; e <= high; e++) {
      var x = Math.pow(10, e);
      vals.push(x);
      text.push(format === 'money' ? (x >= 1 ? currencySymbol(currency) + x.toLocaleString('en-US') : money(x, currency))
        : format === 'bytes' ? bytes(x, true) : x >= 1 ? x.toLocaleString('en-US') : String(x));
    }
    axis.type = 'log';
    axis.tickvals = vals;
    axis.ticktext = text;
    delete axis.tickformat; delete axis.tickprefix; delete axis.ticksuffix;
  }

  function scatterChart(v, rows, wide) {
    var notes = [], layout = layoutBase(wide), traces = [];
    var y = v.y[0];
    var points = rows.filter(function (r) { return r[v.x] != null && r[y] != null; });
    if (points.length > MAX_POINTS) {
      var by = points[0].cost !== undefined ? '-cost' : '-' + y;
      notes.push('The ' + MAX_POINTS.toLocaleString('en-US') + ' most expensive of ' + points.length.toLocaleString('en-US') + ' points.');
      points = sortRows(points, by).slice(0, MAX_POINTS);
    }
    var currency = firstCurrency(points);
    var xLog = logScale(points.map(function (r) { return r[v.x]; })), yLog = logScale(points.map(function (r) { return r[y]; }));
    if (xLog || yLog) {
      points = points.filter(function (r) { return (!xLog || r[v.x] > 0) && (!yLog || r[y] > 0); });
      notes.push('Logarithmic ' + (xLog && yLog ? 'axes' : 'axis') + '; zero values are not drawn.');
    }
    var grouped = groupBy(points, v.series);
    rankKeys(grouped, function (r) { return r[y]; }).slice(0, MAX_SERIES).forEach(function (k, i) {
      var group = grouped.groups[k];
      var label = function (r) { return r.model_name || r.query_id || ''; };
      traces.push({
        type: 'scatter', mode: 'markers', name: pt(v.series ? shortName(k) : title(y)),
        x: group.map(function (r) { return r[v.x]; }), y: group.map(function (r) { return r[y]; }),
        marker: { color: PALETTE[i % PALETTE.length], size: 6, opacity: 0.6 },
        text: group.map(function (r) {
          return pt(label(r)) + '<br>' + pt(title(v.x)) + ': ' + pt(hoverValue(v.x, r[v.x], currency)) + '<br>' + pt(title(y)) + ': ' +
            pt(hoverValue(y, r[y], currency)) + (r.cost != null && y !== 'cost' ? '<br>Cost: ' + pt(money(r.cost, r.currency)) : '');
        }),
        hovertemplate: '%{text}<extra>' + pt(v.series ? shortName(k) : '') + '</extra>'
      });
    });
    layout.xaxis = axisFor(v.x, [], currency);
    layout.yaxis = axisFor(y, [], currency);
    if (xLog) logAxis(layout.xaxis, v.x, points.map(function (r) { return r[v.x]; }), currency);
    if (yLog) logAxis(layout.yaxis, y, points.map(function (r) { return r[y]; }), currency);
    legendFor(traces.length, layout);
    return { traces: traces, layout: layout, notes: notes };
  }

  function heatmapChart(v, rows, wide) {
    var notes = [], layout = layoutBase(wide);
    var yCol = v.y[0], value = v.value;
    var currency = firstCurrency(rows);
    var grouped = groupBy(rows, yCol);
    var names = rankKeys(grouped, function (r) { return r[value]; });
    if (names.length > MAX_CATEGORIES) { notes.push('The ' + MAX_CATEGORIES + ' most expensive of ' + names.length + '.'); names = names.slice(0, MAX_CATEGORIES); }
    var xs = Array.from(new Set(rows.map(function (r) { return r[v.x]; }))).sort();
    var z = names.map(function (n) {
      var cells = {};
      grouped.groups[n].forEach(function (r) { cells[r[v.x]] = (cells[r[v.x]] || 0) + (r[value] || 0); });
      return xs.map(function (x) { return x in cells ? cells[x] : null; });
    });
    var text = z.map(function (line) { return line.map(function (c) { return c == null ? 'no runs' : pt(hoverValue(value, c, currency)); }); });
    var labels = uniqueLabels(names, 30).map(pt);
    var trace = {
      type: 'heatmap', x: xs, y: labels, z: z, text: text, colorscale: [[0, '#eff6ff'], [0.25, '#93c5fd'], [0.6, '#2563eb'], [1, '#1e3a8a']],
      hovertemplate: '<b>%{y}</b><br>%{x}<br>%{text}<extra></extra>', xgap: 1, ygap: 1,
      colorbar: { title: { text: title(value) + (currency ? ' (' + currency + ')' : ''), side: 'right', font: { size: 11 } }, thickness: 12,
        tickprefix: isMoney(value) ? currencySymbol(currency) : '' }
    };
    layout.height = Math.max(layout.height, 60 + names.length * 24);
    layout.xaxis = { automargin: true, type: 'date', gridcolor: '#fff' };
    layout.yaxis = { automargin: true, autorange: 'reversed', type: 'category' };
    layout.showlegend = false;
    notes.push('Darker = more spent that day; blank = no run.');
    return { traces: [trace], layout: layout, notes: notes };
  }

  function boxChart(v, rows, wide) {
    var notes = [], layout = layoutBase(wide), traces = [];
    var y = v.y[0];
    var currency = firstCurrency(rows);
    var grouped = groupBy(rows, v.x);
    var names = rankKeys(grouped, function (r) { return r[y]; });
    if (names.length > MAX_CATEGORIES) { notes.push('The ' + MAX_CATEGORIES + ' most expensive of ' + names.length + '.'); names = names.slice(0, MAX_CATEGORIES); }
    var all = [];
    names.forEach(function (n) { grouped.groups[n].forEach(function (r) { all.push(r[y]); }); });
    var log = logScale(all);
    var labels = uniqueLabels(names, 24);
    names.forEach(function (n, i) {
      var values = grouped.groups[n].map(function (r) { return r[y]; }).filter(function (x) { return x != null && (!log || x > 0); });
      traces.push({ type: 'box', name: pt(labels[i]), y: values, boxpoints: 'outliers', marker: { color: '#2563eb', size: 4 },
        line: { color: '#1d4ed8', width: 1.5 }, fillcolor: 'rgba(37,99,235,0.18)', hoverinfo: 'y', showlegend: false });
    });
    layout.showlegend = false;
    layout.xaxis = { automargin: true, tickangle: names.length > 8 ? -30 : 0, title: { text: title(v.x), font: { size: 12 } } };
    layout.yaxis = axisFor(y, all, currency);
    if (log) { logAxis(layout.yaxis, y, all, currency); notes.push('Logarithmic axis: run costs differ by more than 1,000× between pipelines.'); }
    return { traces: traces, layout: layout, notes: notes };
  }

  // ------------------------------------------------------------------------------------------
  // filters -> redraw

  function status() {
    var node = document.getElementById('filter-status');
    if (!node || !runsQuery) return;
    var runs = filteredRows(runsQuery);
    var currency = firstCurrency(runs);
    node.textContent = runs.length.toLocaleString('en-US') + ' runs, ' + money(sum(runs.map(function (r) { return r.total_cost; })), currency, true) +
      ' in the chosen pipelines and dates';
  }

  var pending = null;
  function changed() {
    var choices = runChoices().map(function (r) { return r.run_key; });
    if (choices.indexOf(state.runA) < 0 || choices.indexOf(state.runB) < 0) {
      var pair = defaultPair();
      state.runA = pair[0]; state.runB = pair[1];
    }
    fillRunSelects();
    if (state.run !== ALL && !runChoices().some(function (r) { return r.run_key === state.run; })) { state.run = ALL; fillRunSelects(); }
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () { pending = null; redraw(); }, 30);
  }

  function redraw() {
    status();
    renderers.forEach(function (draw) { draw(); });
    document.body.setAttribute('data-drawn', String(Number(document.body.getAttribute('data-drawn') || 0) + 1));
  }

  // Plotly's JavaScript is embedded gzip-compressed (a third of its size); unpacked here, in the page.
  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (typeof DecompressionStream === 'undefined') {
      return Promise.reject(new Error('this browser cannot unpack the charts (it needs Chrome 80+, Edge 80+, Firefox 113+ or Safari 16.4+)'));
    }
    var packed = atob(document.getElementById('plotly-gzip').textContent.trim());
    var bytes = new Uint8Array(packed.length);
    for (var i = 0; i < packed.length; i++) bytes[i] = packed.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).text().then(function (code) {
      (0, eval)(code);   // defines window.Plotly
      return window.Plotly;
    });
  }

  function start(plotly) {
    Plotly = plotly;
    Object.keys(P.datasets).forEach(function (id) { DATA[id] = decode(P.datasets[id]); });
    build();
    var pair = defaultPair();
    state.runA = pair[0]; state.runB = pair[1];
    fillRunSelects();
    redraw();
  }

  loadPlotly().then(start).catch(function (error) {
    var app = document.getElementById('app');
    clear(app);
    app.appendChild(el('p', { className: 'loading', text: 'The report could not be drawn: ' + error.message +
      '. The same figures are in report.md and report.json next to this file.' }));
    throw error;
  });
})();
