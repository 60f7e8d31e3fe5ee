// Dealsight pages: draw the Plotly charts, and make quotes seek the audio player.
(function () {
  "use strict";

  function drawCharts() {
    if (typeof window.Plotly === "undefined") return;
    document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
      var fig = JSON.parse(el.getAttribute("data-figure"));
      window.Plotly.newPlot(el, fig.data, fig.layout, { displayModeBar: false, responsive: true })
        .then(function () { el.setAttribute("data-drawn", "1"); });
      // Every point of a chart leads to the evidence behind it.
      el.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        if (p && p.customdata) window.location.assign(p.customdata);
      });
    });
  }

  function seekTo(audio, seconds, play) {
    var go = function () {
      audio.currentTime = seconds;
      if (play) {
        var pr = audio.play();
        if (pr && pr.catch) pr.catch(function () { /* autoplay refused: the position is set */ });
      }
    };
    if (audio.readyState >= 1) go();
    else audio.addEventListener("loadedmetadata", go, { once: true });
  }

  function wireAudio() {
    var audio = document.getElementById("player");
    document.querySelectorAll("[data-seek]").forEach(function (el) {
      el.addEventListener("click", function (e) {
        var t = parseFloat(el.getAttribute("data-seek"));
        if (!audio || isNaN(t)) return;
        e.preventDefault();
        document.querySelectorAll(".active").forEach(function (a) { a.classList.remove("active"); });
        var target = el.getAttribute("data-insight");
        if (target) {
          document.querySelectorAll('mark[data-insights~="' + target + '"]').forEach(function (m) {
            m.classList.add("active");
          });
        }
        seekTo(audio, t, true);
      });
    });
    if (!audio) return;
    // Highlight the turn being played.
    var turns = Array.prototype.slice.call(document.querySelectorAll(".turn[data-start]"));
    audio.addEventListener("timeupdate", function () {
      var now = audio.currentTime;
      turns.forEach(function (turn) {
        var s = parseFloat(turn.getAttribute("data-start"));
        var e = parseFloat(turn.getAttribute("data-end"));
        turn.classList.toggle("playing", now >= s && now < e);
      });
    });
    // Deep links from the review and deal pages: /conversations/{id}?t=12.3#insight-5
    var t = parseFloat(new URLSearchParams(window.location.search).get("t"));
    if (!isNaN(t)) seekTo(audio, t, false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    wireAudio();
  });
})();
