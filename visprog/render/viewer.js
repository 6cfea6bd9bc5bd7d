// visprog trace viewer: enlarge a figure in a dialog. Static code: it reads no trace data, so
// nothing a model wrote can reach it; the page's CSP allows only this script (by hash).
(function () {
  "use strict";
  var dialog = document.getElementById("viewer");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var stage = dialog.querySelector(".stage");
  var opener = null;
  function open(button) {
    var pic = button.querySelector("svg.pic");
    if (!pic) return;
    var copy = pic.cloneNode(true);
    copy.removeAttribute("width");
    copy.removeAttribute("height");
    var box = pic.viewBox.baseVal;
    var wide = box && box.width / box.height > window.innerWidth / window.innerHeight;
    copy.classList.add(wide ? "wide" : "tall");
    stage.replaceChildren(copy);
    dialog.setAttribute("aria-label", button.getAttribute("aria-label") || "Enlarged image");
    opener = button;
    dialog.showModal();
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest("button.thumb");
    if (button && !dialog.contains(button)) {
      open(button);
    } else if (target.closest("dialog .close") || target === dialog) {
      dialog.close();
    }
  });
  dialog.addEventListener("close", function () {
    stage.replaceChildren();
    if (opener) opener.focus();
  });
})();
