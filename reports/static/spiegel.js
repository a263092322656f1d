/* Spiegelinformatie: draws the interactive charts from the JSON in the page with plotly.
   Shared by every report of a release (loaded as ../spiegel.js). */
(function () {
  "use strict";
  var BLUE = "#0b4f8a", LIGHT = "#a9bfd6", GREY = "#8d99a6", ORANGE = "#d9822b",
      TEAL = "#2f8f83", RED = "#b54a4a";
  var FONT = { family: "Liberation Sans, DejaVu Sans, Arial, sans-serif", size: 12, color: "#2b3440" };
  var CONFIG = { displaylogo: false, responsive: true, locale: "nl",
                 modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "sendChartToCloud", "sendDataToCloud"] };
  // plotly's own texts (buttons, notices) in Dutch; numbers: decimal comma, thousands dot
  var LOCALE_NL = {
    moduleType: "locale", name: "nl",
    dictionary: {
      "Zoom": "Zoomen", "Pan": "Verschuiven", "Zoom in": "Inzoomen", "Zoom out": "Uitzoomen",
      "Reset axes": "Assen herstellen", "Reset": "Herstellen", "Autoscale": "Automatisch schalen",
      "Box Select": "Rechthoek selecteren", "Lasso Select": "Lasso selecteren",
      "Show closest data on hover": "Dichtstbijzijnde gegevens tonen",
      "Compare data on hover": "Gegevens vergelijken",
      "Toggle show closest data on hover": "Dichtstbijzijnde gegevens aan of uit",
      "Toggle Spike Lines": "Hulplijnen aan of uit",
      "Download plot as a PNG": "Grafiek downloaden als PNG", "Download plot": "Grafiek downloaden",
      "Preparing image - this may take a few seconds": "Afbeelding wordt gemaakt, een ogenblik",
      "Image download succeeded": "Afbeelding gedownload",
      "Sorry, there was a problem downloading your image!": "Het downloaden van de afbeelding is mislukt.",
      "Double-click to zoom back out": "Dubbelklik om terug uit te zoomen",
      "Double-click on legend to isolate one trace": "Dubbelklik op de legenda om één reeks apart te tonen"
    },
    format: { decimal: ",", thousands: ".", grouping: [3] }
  };
  if (window.Plotly && window.Plotly.register) { window.Plotly.register(LOCALE_NL); }
  // every axis: whole numbers with a thousands dot (10.000, never 10k), no SI suffix
  function axis(extra) {
    var base = { tickformat: ",d", exponentformat: "none", gridcolor: "#e3e7ec" };
    for (var k in extra) { base[k] = extra[k]; }
    return base;
  }
  function layout(extra) {
    var base = { font: FONT, separators: ",.", margin: { l: 60, r: 20, t: 10, b: 45 },
                 paper_bgcolor: "white", plot_bgcolor: "white", hovermode: "closest",
                 legend: { orientation: "h", y: -0.2 } };
    for (var k in extra) { base[k] = extra[k]; }
    return base;
  }
  function draw(id, traces, lay) {
    var el = document.getElementById(id);
    if (el && window.Plotly) { window.Plotly.newPlot(el, traces, layout(lay), CONFIG); }
  }
  function r(v) { return v === null || v === undefined ? null : Math.round(v); }

  function limitTraces(f, showlegend) {
    var L = f.limits, out = [];
    [["998", RED, "99,8 %"], ["95", TEAL, "95 %"]].forEach(function (spec) {
      [false, true].forEach(function (adj) {
        var tag = spec[0] + (adj ? "_adj" : "");
        ["lo", "hi"].forEach(function (side, i) {
          out.push({ x: L.e, y: L[tag + "_" + side], mode: "lines", hoverinfo: "skip",
                     line: { color: spec[1], width: adj ? 2 : 1, dash: adj ? "solid" : "dash" },
                     name: spec[2] + (adj ? " (gecorrigeerd voor overdispersie)" : " (alleen toeval)"),
                     legendgroup: tag, showlegend: showlegend && i === 0 });
        });
      });
    });
    return out;
  }
  function funnelTraces(f, label) {
    var t = [{ x: f.x, y: f.y, mode: "markers", type: "scatter", name: label || "andere praktijken",
               marker: { color: "rgba(120,130,142,0.45)", size: 5 },
               hovertemplate: "verwacht %{x:,.0f}<br>index %{y:.0f}<extra></extra>" }];
    t = t.concat(limitTraces(f, true));
    t.push({ x: [f.limits.e[0], f.limits.e[f.limits.e.length - 1]], y: [100, 100], mode: "lines",
             line: { color: "#2b3440", width: 1.2 }, name: "landelijk = 100", hoverinfo: "skip" });
    return t;
  }
  // log axis ticks of the 1-2-5 series (as the printed funnel), not a label at every digit
  function logTicks(lo, hi) {
    var out = [];
    for (var d = Math.pow(10, Math.floor(Math.log10(lo))); d <= hi; d *= 10) {
      [1, 2, 5].forEach(function (m) { if (m * d >= lo && m * d <= hi) { out.push(m * d); } });
    }
    return out;
  }
  function funnelLayout(f) {
    return { xaxis: axis({ type: "log", title: { text: "Verwacht aantal behandelingen (logaritmische schaal)" },
                           tickmode: "array", tickvals: logTicks(f.limits.e[0], f.limits.e[f.limits.e.length - 1]) }),
             yaxis: axis({ title: { text: "Behandelindex" }, range: f.yrange, zeroline: false }),
             legend: { orientation: "h", y: -0.22, font: { size: 11 } }, margin: { l: 60, r: 20, t: 10, b: 90 } };
  }

  function report(d) {
    var ix = d.index;
    var top = Math.max(200, Math.ceil((ix.hi + 10) / 50) * 50);
    draw("chart-scale", [
      { x: [ix.lo, ix.hi], y: [0, 0], mode: "lines", line: { color: "rgba(11,79,138,0.3)", width: 14 },
        name: "95 %-interval", hovertemplate: "interval %{x:.0f}<extra></extra>" },
      { x: [ix.corrected], y: [0], mode: "markers", marker: { symbol: "line-ns-open", size: 22, color: ORANGE,
        line: { width: 4, color: ORANGE } }, name: "gecorrigeerde index",
        hovertemplate: "gecorrigeerde index %{x:.0f}<extra></extra>" },
      { x: [ix.bi], y: [0], mode: "markers+text", text: [String(r(ix.bi))], textposition: "top center",
        textfont: { color: BLUE, size: 14 }, marker: { color: BLUE, size: 14, line: { color: "white", width: 2 } },
        name: "behandelindex", hovertemplate: "behandelindex %{x:.0f}<extra></extra>" }
    ], { height: 110, showlegend: false, margin: { l: 20, r: 20, t: 5, b: 30 },
         xaxis: axis({ range: [0, top], zeroline: false }),
         yaxis: { visible: false, range: [-1, 1.2] },
         shapes: [{ type: "line", x0: 100, x1: 100, y0: -0.8, y1: 0.8, line: { color: "#2b3440", width: 2 } }],
         annotations: [{ x: 100, y: 1.0, text: "landelijk = 100", showarrow: false, xanchor: "right", xshift: -4,
                          font: { size: 11 } }] });

    var f = window.SPIEGEL_FUNNEL;
    if (f) {
      var t = funnelTraces(f);
      var clippedY = Math.min(Math.max(d.practice.y, f.yrange[0]), f.yrange[1]);
      t.push({ x: [d.practice.e], y: [clippedY], mode: "markers", name: "uw praktijk",
               marker: { color: BLUE, size: 14, line: { color: "white", width: 2 } },
               customdata: [d.practice.y],
               hovertemplate: "uw praktijk<br>verwacht %{x:,.0f}<br>index %{customdata:.0f}<extra></extra>" });
      draw("chart-funnel", t, funnelLayout(f));
    }

    var h = d.history.filter(function (p) { return p.bi !== null; });
    draw("chart-history", [
      { x: h.map(function (p) { return p.label; }), y: h.map(function (p) { return p.bi; }),
        mode: "lines+markers+text", text: h.map(function (p) { return String(r(p.bi)); }), textposition: "middle right",
        name: "behandelindex", line: { color: BLUE }, marker: { color: BLUE, size: 10 },
        error_y: { type: "data", symmetric: false, color: "rgba(11,79,138,0.45)", thickness: 2,
                   array: h.map(function (p) { return p.hi - p.bi; }),
                   arrayminus: h.map(function (p) { return p.bi - p.lo; }) },
        hovertemplate: "%{x}: index %{y:.0f}<extra></extra>" },
      { x: h.map(function (p) { return p.label; }), y: h.map(function (p) { return p.corrected; }),
        mode: "markers", name: "gecorrigeerde index", marker: { symbol: "line-ew-open", size: 16, color: ORANGE,
        line: { width: 3, color: ORANGE } }, hovertemplate: "%{x}: gecorrigeerd %{y:.0f}<extra></extra>" }
    ], { xaxis: { type: "category", categoryorder: "array",
                  categoryarray: d.history.map(function (p) { return p.label; }) },
         yaxis: axis({ title: { text: "Behandelindex" } }), height: 280,
         shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 100, y1: 100, line: { color: "#2b3440", width: 1 } }] });

    // why the index moved (method.md §10): index A, three steps, index B, in the whole points of the sentence
    var w = d.movement;
    if (w) {
      draw("chart-movement", [
        { type: "waterfall", x: w.labels.map(function (l) { return l.join("<br>"); }), y: w.y, measure: w.measure,
          text: w.text, textposition: "outside", cliponaxis: false, customdata: w.hover,
          hovertemplate: "%{customdata}<extra></extra>", textfont: { color: FONT.color },
          connector: { line: { color: GREY, width: 1, dash: "dot" } },
          increasing: { marker: { color: ORANGE } }, decreasing: { marker: { color: TEAL } },
          totals: { marker: { color: BLUE } } }
      ], { height: 300, showlegend: false, margin: { l: 60, r: 20, t: 20, b: 70 },
           xaxis: { type: "category", tickangle: 0 },
           yaxis: axis({ title: { text: "Behandelindex" }, range: w.yrange }) });
    }

    function pct(values) { return values.map(function (v) { return v === null ? null : 100 * v; }); }
    d.casemix.forEach(function (c, i) {
      draw("chart-casemix-" + i, [
        { y: c.labels, x: pct(c.practice), type: "bar", orientation: "h", name: "uw praktijk", marker: { color: BLUE },
          hovertemplate: "%{y}: %{x:.0f}\u00a0%<extra>uw praktijk</extra>" },
        { y: c.labels, x: pct(c.national), type: "bar", orientation: "h", name: "landelijk", marker: { color: LIGHT },
          hovertemplate: "%{y}: %{x:.0f}\u00a0%<extra>landelijk</extra>" }
      ], { barmode: "group", xaxis: axis({ ticksuffix: "\u00a0%", rangemode: "tozero" }),
           yaxis: { autorange: "reversed", automargin: true }, margin: { l: 10, r: 10, t: 5, b: 30 },
           legend: { orientation: "h", y: 1.08, x: 0 } });
    });

    draw("chart-drivers", [
      { y: d.drivers.map(function (g) { return g.label; }), x: d.drivers.map(function (g) { return g.observed; }),
        type: "bar", orientation: "h", name: "werkelijk", marker: { color: BLUE },
        hovertemplate: "%{y}: %{x:,.0f} werkelijk<extra></extra>" },
      { y: d.drivers.map(function (g) { return g.label; }), x: d.drivers.map(function (g) { return g.expected; }),
        type: "bar", orientation: "h", name: "verwacht", marker: { color: GREY },
        hovertemplate: "%{y}: %{x:,.0f} verwacht<extra></extra>" }
    ], { barmode: "group", xaxis: axis({ title: { text: "Behandelingen" } }),
         yaxis: { autorange: "reversed", automargin: true }, margin: { l: 10, r: 20, t: 5, b: 45 },
         legend: { orientation: "h", y: 1.06, x: 0 } });
  }

  function overview(d) {
    d.disciplines.forEach(function (disc, i) {
      draw("chart-dist-" + i, [{ x: disc.index, type: "histogram", marker: { color: BLUE }, nbinsx: 40,
                                 name: "praktijken",
                                 hovertemplate: "index %{x}<br>%{y} praktijken<extra></extra>" }],
           { xaxis: axis({ title: { text: "Behandelindex" } }), yaxis: axis({ title: { text: "Praktijken" } }),
             bargap: 0.05, showlegend: false,
             shapes: [{ type: "line", x0: 100, x1: 100, yref: "paper", y0: 0, y1: 1, line: { color: ORANGE, width: 2 } }] });
      if (disc.funnel) {
        var fl = funnelLayout(disc.funnel);
        fl.showlegend = false;
        fl.margin = { l: 60, r: 20, t: 10, b: 45 };
        fl.xaxis.title = { text: "Verwacht aantal behandelingen (log)" };
        draw("chart-funnel-" + i, funnelTraces(disc.funnel, "praktijken"), fl);
      }
    });
    var m = d.monthly;
    draw("chart-monthly", m.series.map(function (s) {
      return { x: m.months, y: s.sessions, mode: "lines+markers", name: s.name,
               hovertemplate: "%{x}: %{y:,.0f} behandelingen<extra>" + s.name + "</extra>" };
    }), { xaxis: { type: "category", title: { text: "Maand" } },
          yaxis: axis({ title: { text: "Getelde behandelingen" }, rangemode: "tozero" }), legend: { orientation: "h", y: -0.25 },
          margin: { l: 70, r: 20, t: 10, b: 90 } });
  }

  var node = document.getElementById("spiegel-data");
  if (!node) { return; }
  var data = JSON.parse(node.textContent);
  if (data.disciplines) { overview(data); } else { report(data); }
})();
