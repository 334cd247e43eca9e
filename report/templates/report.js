// Draws the report's charts from the embedded JSON. Each chart's configuration was built by
// report/charts.ts; this script only attaches it to its canvas, adds the tooltip text that
// needs a function, and resizes the charts around printing so they fit the page.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#374151';

  function ganttTooltip(ctx) {
    var raw = ctx.raw;
    return raw.key + ': ' + raw.x[0] + ' – ' + raw.x[1];
  }

  // A heatmap drawn as a scatter: squares sized to fill one grid cell, axes labelled by index.
  function decisionMap(spec, config) {
    var grid = spec.grid;
    config.data.datasets.forEach(function (ds) {
      if (ds.catalog) return;
      ds.pointRadius = function (ctx) {
        var area = ctx.chart.chartArea;
        if (!area) return 3;
        return Math.min(area.width / grid.columns, area.height / grid.rows) / Math.SQRT2;
      };
      ds.pointHoverRadius = ds.pointRadius;
    });
    config.options.scales.x.ticks.callback = function (v) { return grid.xTicks[v] || ''; };
    config.options.scales.y.ticks.callback = function (v) { return grid.yTicks[v] || ''; };
    config.options.plugins.tooltip = { callbacks: { label: function (ctx) { return ctx.raw.pool + (ctx.raw.seconds ? ': ' + ctx.raw.seconds : ''); } } };
  }

  data.charts.forEach(function (spec) {
    var canvas = document.querySelector('canvas[data-chart="' + spec.id + '"]');
    if (!canvas) throw new Error('report: no canvas for chart ' + spec.id);
    var config = spec.config;
    if (spec.kind === 'gantt') {
      config.options.plugins.tooltip = { callbacks: { label: ganttTooltip } };
    }
    if (spec.kind === 'decision-map') decisionMap(spec, config);
    new Chart(canvas, config);
  });

  function resizeAll() {
    Object.values(Chart.instances).forEach(function (chart) { chart.resize(); });
  }
  window.addEventListener('beforeprint', resizeAll);
  window.addEventListener('afterprint', resizeAll);
})();
