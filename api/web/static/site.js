// Small enhancements only: every page works without this file.
(function () {
  "use strict";

  // "/" jumps to the search box, as on many sites, unless the person is typing already.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing) return;
    var box = document.querySelector("[data-search-input]");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Changing a filter re-runs the current search at once (the Search button still works).
  var form = document.querySelector("form[data-filters]");
  if (form) {
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () {
        var query = form.querySelector("input[name=q]");
        if (query && query.value.trim().length > 1) form.requestSubmit();
      });
    });
  }
})();
