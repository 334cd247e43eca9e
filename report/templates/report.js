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

  // A heatmap drawn as a scatter: a small plugin fills each grid cell (a point per cell, by
  // index) with its dataset's colour; the points themselves are invisible but keep the
  // tooltips and the legend. Catalog workloads are ordinary points drawn on top.
  var heatmapCells = {
    id: 'heatmapCells',
    beforeDatasetsDraw: function (chart) {
      var x = chart.scales.x, y = chart.scales.y, ctx = chart.ctx;
      ctx.save();
      chart.data.datasets.forEach(function (ds, i) {
        if (ds.catalog || !chart.isDatasetVisible(i)) return;
        ctx.fillStyle = ds.backgroundColor;
        ds.data.forEach(function (p) {
          var left = x.getPixelForValue(p.x - 0.5), right = x.getPixelForValue(p.x + 0.5);
          var top = y.getPixelForValue(p.y + 0.5), bottom = y.getPixelForValue(p.y - 0.5);
          ctx.fillRect(left, top, right - left + 0.5, bottom - top + 0.5);
        });
      });
      ctx.restore();
    },
  };

  function decisionMap(spec, config) {
    var grid = spec.grid;
    config.data.datasets.forEach(function (ds) {
      if (ds.catalog) return;
      ds.pointRadius = 0;
      ds.pointHitRadius = 6;
    });
    config.plugins = [heatmapCells];
    // Ticks on the cells' indices (the axes run from -0.5 so that the cells fill them).
    function indexTicks(count, labels) {
      return function (scale) {
        scale.ticks = [];
        for (var i = 0; i < count; i++) scale.ticks.push({ value: i, label: labels[i] || '' });
      };
    }
    config.options.scales.x.afterBuildTicks = indexTicks(grid.columns, grid.xTicks);
    config.options.scales.y.afterBuildTicks = indexTicks(grid.rows, grid.yTicks);
    config.options.scales.x.ticks.callback = function (v) { return grid.xTicks[v] || ''; };
    config.options.scales.y.ticks.callback = function (v) { return grid.yTicks[v] || ''; };
    config.options.plugins.legend.labels = { usePointStyle: true };
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
