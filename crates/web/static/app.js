// thidua – our own small script. Every page works without it; it only adds
// conveniences: confirmation of destructive actions, a back link, and
// filtering long tables as one types.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });
  document.querySelectorAll("[data-back]").forEach(function (a) {
    a.addEventListener("click", function (ev) { ev.preventDefault(); window.history.back(); });
  });
  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "d").toLowerCase();
  }
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (!table) { return; }
    input.hidden = false;
    input.addEventListener("input", function () {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var text = fold(tr.textContent);
        tr.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
  });
})();
