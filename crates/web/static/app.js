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
  // The scoring-table editor: while a line's maximum is typed, show what the
  // total of its group and of the whole table would become.
  function points(text) {
    var t = text.trim().replace(/\.(?=\d{3}(\D|$))/g, "").replace(",", ".");
    var v = parseFloat(t);
    return isNaN(v) ? null : Math.round(v * 100);
  }
  function show(h) {
    var s = (Math.abs(h) / 100).toFixed(2).replace(/\.?0+$/, "").replace(".", ",");
    return (h < 0 ? "-" : "") + s;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-code]"));
  document.querySelectorAll("input[data-live-max]").forEach(function (input) {
    var code = input.getAttribute("data-live-max");
    var out = document.querySelector("output[data-live-total='" + code + "']");
    var row = rows.filter(function (r) { return r.getAttribute("data-code") === code; })[0];
    if (!out || !row) { return; }
    input.addEventListener("input", function () {
      var v = points(input.value);
      if (v === null) { out.textContent = "Số chưa đúng dạng (ví dụ 12,5)."; return; }
      var parent = row.getAttribute("data-parent");
      var siblings = rows.filter(function (r) { return r.getAttribute("data-parent") === parent; });
      var sum = siblings.reduce(function (acc, r) {
        return acc + (r === row ? v : parseInt(r.getAttribute("data-max"), 10));
      }, 0);
      if (parent) {
        var p = rows.filter(function (r) { return r.getAttribute("data-code") === parent; })[0];
        var pmax = p ? parseInt(p.getAttribute("data-max"), 10) : 0;
        out.textContent = "Các dòng con của " + parent + " sẽ cộng được " + show(sum) + " / " + show(pmax) + " điểm." +
          (sum === pmax ? "" : " Chưa khớp.");
      } else {
        out.textContent = "Tổng điểm nội dung của bảng sẽ là " + show(sum) + ".";
      }
    });
  });
  // The self-assessment sheet: while values are typed, ask the server what
  // the total, the class and each line's points would be (nothing is saved).
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var url = form.getAttribute("data-preview");
    var csrf = form.querySelector("input[name=csrf]");
    var out = document.getElementById("sheet-preview");
    var timer = null;
    function run() {
      var lines = [];
      form.querySelectorAll("input[name^='b:']").forEach(function (b) {
        var code = b.name.slice(2);
        var v = form.querySelector("[name='v:" + code + "']");
        var r = form.querySelector("[name='r:" + code + "']");
        lines.push({ line_code: code, value: v ? v.value : "", reason: r ? r.value : "" });
      });
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.value : "" },
        body: JSON.stringify({ lines: lines })
      }).then(function (resp) { return resp.ok ? resp.json() : null; }).then(function (p) {
        if (!p) { return; }
        document.getElementById("sheet-total").textContent = p.total || "Chưa tính được";
        document.getElementById("sheet-class").textContent = p.class || "—";
        form.querySelectorAll("[data-points]").forEach(function (el) { el.textContent = ""; });
        p.points.forEach(function (pair) {
          var el = form.querySelector("[data-points='" + pair[0] + "']");
          if (el) { el.textContent = pair[1]; }
        });
        if (out) { out.textContent = p.problems.length ? p.problems.join(" ") : "(theo giá trị đang nhập, chưa lưu)"; }
      }).catch(function () {});
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 300); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(run, 300); });
  });
})();
