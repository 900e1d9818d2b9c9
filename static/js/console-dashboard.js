/*
 * Yipin console dashboard: draws the charts of the console's home page with the vendored
 * Apache ECharts (static/vendor/echarts). The figures come from the page's
 * <script type="application/json" id="dashboard-data"> block; every figure is also on the
 * page as text and tables, so without this script nothing is lost but the pictures.
 * No inline script, no network: the console's Content-Security-Policy allows neither.
 */
(function () {
  "use strict";

  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var labels = data.labels || {};
  var RED = "#b3261e";
  var GREY = "#8c8178";
  var charts = [];

  /* Show the chart's box (hidden until there is a script to fill it) and draw *option*. */
  function draw(id, option) {
    var box = document.getElementById(id);
    if (!box) {
      return;
    }
    box.hidden = false;
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    option.animation = false;
    // Tooltips drawn on the canvas: HTML tooltips carry inline styles the CSP refuses.
    option.tooltip = Object.assign({ trigger: "axis", renderMode: "richText" }, option.tooltip);
    option.grid = Object.assign({ left: 8, right: 16, top: 36, bottom: 8, containLabel: true }, option.grid);
    chart.setOption(option);
    charts.push(chart);
  }

  function percentAxis() {
    return { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } };
  }

  if (data.scans && data.scans.days.length) {
    draw("chart-scans", {
      xAxis: {
        type: "category",
        data: data.scans.days.map(function (day) { return day.slice(5); }),
        boundaryGap: false
      },
      yAxis: { type: "value", minInterval: 1 },
      series: [{
        name: labels.scans,
        type: "line",
        data: data.scans.counts,
        smooth: false,
        showSymbol: true,
        symbolSize: 4,
        color: RED,
        areaStyle: { opacity: 0.08 }
      }]
    });
  }

  if (data.ledgers && data.ledgers.names.length) {
    draw("chart-ledgers", {
      legend: { top: 0 },
      xAxis: { type: "category", data: data.ledgers.names, axisLabel: { interval: 0, rotate: data.ledgers.names.length > 6 ? 30 : 0 } },
      yAxis: percentAxis(),
      series: [
        { name: labels.last_7, type: "bar", data: data.ledgers.last_7, color: RED },
        { name: labels.last_30, type: "bar", data: data.ledgers.last_30, color: GREY }
      ]
    });
  }

  if (data.qualification && data.qualification.names.length) {
    draw("chart-qualification", {
      xAxis: { type: "category", data: data.qualification.names, axisLabel: { interval: 0 } },
      yAxis: percentAxis(),
      series: [{
        name: labels.qualification,
        type: "bar",
        data: data.qualification.rates,
        color: RED,
        barMaxWidth: 48,
        label: { show: true, position: "top", formatter: "{c}%" }
      }]
    });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
