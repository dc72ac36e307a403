/* The results dashboard's script: draws the charts the page's data describes (uPlot), the
 * filters of the fleet view, and a chart point's link to its run. The data is read from the
 * page's <script type="application/json" id="dashboard-data"> element; text is shown with
 * textContent only. window.dashboard lists what was drawn, for the tests. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var state = { plots: {}, axes: {}, errors: [] };
  window.dashboard = state;
  var SIZES = { spark: [260, 110], trend: [480, 240], run: [480, 220] };

  function figure(value, unit) {
    if (value === null || value === undefined) return "-";
    if (unit === "%") return (value * 100).toFixed(value >= 0.001 || value === 0 ? 1 : 3) + "%";
    var text = Math.abs(value) >= 100 ? Math.round(value).toLocaleString("en-US")
      : Number(value.toPrecision(3)).toString();
    return unit ? text + " " + unit : text;
  }

  function utc(seconds) {
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function draw(element) {
    var id = element.getAttribute("data-chart");
    if (state.plots[id]) return;
    var spec = data.charts[id];
    var size = SIZES[spec.kind];
    var small = spec.kind === "spark";
    var scaleNames = Object.keys(spec.scales);
    var units = {};
    spec.series.forEach(function (s) { units[s.scale] = s.unit; });
    state.axes[id] = [];
    var font = small ? "10px sans-serif" : "11px sans-serif";

    function when(v, span) {  // a run's start, as precisely as the runs on the axis need
      var text = utc(v);
      if (span < 3600) return text.slice(11, 19);
      if (span < 86400 * 2) return text.slice(5, 16);
      return text.slice(0, 10);
    }

    function ticks(axisNumber, unit) {
      return function (u, splits) {
        var span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
        var labels = splits.map(function (v) {
          if (axisNumber === 0) return spec.time ? when(v, span) : v.toFixed(span < 5 ? 1 : 0) + " s";
          if (unit === "%") return Number((v * 100).toPrecision(3)) + "%";
          return figure(v, "");
        });
        state.axes[id][axisNumber] = labels;
        return labels;
      };
    }

    var scales = {
      x: {
        time: false,
        range: function () {  // one run, or runs a second apart: room around them
          var min = spec.x[0], max = spec.x[spec.x.length - 1];
          var pad = spec.time ? Math.max(30, (max - min) * 0.05) : 0;
          return min === max ? [min - (spec.time ? 60 : 1), max + (spec.time ? 60 : 1)] : [min - pad, max + pad];
        }
      }
    };
    scaleNames.forEach(function (name) {
      scales[name] = {
        range: function (u, min, max) {
          if (min === null || max === null) return [0, 1];
          var top = max > 0 ? max * 1.1 : 1;
          return [Math.min(0, min), top];
        }
      };
    });
    var axes = [{ label: small ? null : spec.xlabel, font: font, labelFont: font, size: small ? 24 : 40,
                  values: ticks(0), space: small ? 60 : 90 }];
    scaleNames.forEach(function (name, index) {
      axes.push({ scale: name, label: small ? null : spec.scales[name], font: font, labelFont: font,
                  side: index === 0 ? 3 : 1, grid: { show: index === 0 }, size: small ? 50 : 64,
                  values: ticks(index + 1, units[name]) });
    });
    var series = [{
      label: spec.time ? "run" : "time",
      value: function (u, v) { return v === null ? "-" : spec.time ? utc(v) : v.toFixed(1) + " s"; }
    }];
    spec.series.forEach(function (s) {
      series.push({
        label: s.label, scale: s.scale, stroke: s.color, width: s.limit ? 1 : 2,
        dash: s.limit ? [6, 4] : undefined, spanGaps: false,
        points: { show: !s.limit, size: small ? 4 : 6 },
        value: function (u, v) { return figure(v, s.unit); }
      });
    });
    var options = {
      title: small ? undefined : spec.title, width: size[0], height: size[1], scales: scales,
      axes: axes, series: series, legend: { show: !small, live: true },
      cursor: { points: { size: 8 } }
    };
    var columns = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var plot = new uPlot(options, columns, element);
    if (small) element.title = spec.title;
    if (spec.links) {
      plot.over.style.cursor = "pointer";
      plot.over.addEventListener("click", function () {
        var index = plot.cursor.idx;
        if (index !== null && index !== undefined && spec.links[index]) go(spec.links[index]);
      });
    }
    state.plots[id] = plot;
  }

  function go(hash) {
    var target = document.getElementById(hash.slice(1));
    if (target && target.tagName === "DETAILS") target.open = true;
    window.location.hash = hash;
  }

  function drawVisible(root) {
    var elements = root.querySelectorAll(".chart[data-chart]");
    for (var i = 0; i < elements.length; i++) {
      var closed = elements[i].closest("details:not([open])");
      if (!closed) {
        try { draw(elements[i]); } catch (error) { state.errors.push(String(error)); throw error; }
      }
    }
  }

  document.querySelectorAll("details.run").forEach(function (details) {
    details.addEventListener("toggle", function () { if (details.open) drawVisible(details); });
  });

  function filter() {
    var wanted = {};
    document.querySelectorAll("select.filter").forEach(function (select) {
      wanted[select.getAttribute("data-key")] = select.value;
    });
    document.querySelectorAll(".fleet-row, section.target").forEach(function (element) {
      var shown = Object.keys(wanted).every(function (key) {
        return !wanted[key] || element.getAttribute("data-" + key) === wanted[key];
      });
      element.style.display = shown ? "" : "none";
    });
  }
  document.querySelectorAll("select.filter").forEach(function (select) {
    select.addEventListener("change", filter);
  });

  function openFromHash() {
    if (window.location.hash.length > 1) {
      var target = document.getElementById(window.location.hash.slice(1));
      if (target && target.tagName === "DETAILS") target.open = true;
    }
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
  drawVisible(document);
  state.ready = true;
})();
