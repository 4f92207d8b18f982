/* QA Portal: small progressive enhancements. No inline scripts or handlers (strict CSP). */
(function () {
  "use strict";

  /* Profile menu: a disclosure button that shows and hides the menu. */
  function setUpMenus() {
    document.querySelectorAll("[data-menu]").forEach(function (container) {
      var button = container.querySelector("[data-menu-toggle]");
      var menu = button && document.getElementById(button.getAttribute("aria-controls"));
      if (!menu) return;

      function close(returnFocus) {
        if (menu.hidden) return;
        menu.hidden = true;
        button.setAttribute("aria-expanded", "false");
        if (returnFocus) button.focus();
      }
      function open() {
        menu.hidden = false;
        button.setAttribute("aria-expanded", "true");
        var first = menu.querySelector("a, button");
        if (first) first.focus();
      }

      button.addEventListener("click", function () {
        if (menu.hidden) open(); else close(false);
      });
      container.addEventListener("keydown", function (event) {
        if (event.key === "Escape") close(true);
      });
      document.addEventListener("click", function (event) {
        if (!container.contains(event.target)) close(false);
      });
      container.addEventListener("focusout", function (event) {
        if (event.relatedTarget && !container.contains(event.relatedTarget)) close(false);
      });
    });
  }

  /* Main navigation: on a narrow screen its links fold behind a Menu button. */
  function setUpNavigation() {
    document.querySelectorAll("[data-nav]").forEach(function (nav) {
      var button = nav.querySelector("[data-nav-toggle]");
      var links = button && document.getElementById(button.getAttribute("aria-controls"));
      if (!links) return;
      nav.classList.add("site-nav--folding");
      button.hidden = false;

      function setOpen(isOpen) {
        links.classList.toggle("is-open", isOpen);
        button.setAttribute("aria-expanded", isOpen ? "true" : "false");
      }
      button.addEventListener("click", function () {
        setOpen(button.getAttribute("aria-expanded") !== "true");
      });
      nav.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
          setOpen(false);
          button.focus();
        }
      });
    });
  }

  /* Copy buttons: data-copy-target names the id of the input whose value is copied. */
  function announce(button, text) {
    var status = button.parentElement.querySelector(".copy-status");
    if (!status) {
      status = document.createElement("span");
      // Announced to screen readers; sighted users see the button turn into "Copied".
      status.className = "copy-status visually-hidden";
      status.setAttribute("role", "status");
      button.insertAdjacentElement("afterend", status);
    }
    status.textContent = text;
    window.setTimeout(function () { status.textContent = ""; }, 4000);
  }

  function copyFallback(input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function setUpCopyButtons() {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.getElementById(button.getAttribute("data-copy-target"));
        if (!input) return;
        var done = function () { button.textContent = "Copied"; announce(button, "Copied to the clipboard"); };
        var failed = function () {
          if (copyFallback(input)) done();
          else {
            // The text is selected: say how to copy it, on the button and to screen readers.
            button.textContent = "Press Ctrl+C";
            announce(button, "The text is selected. Press Ctrl+C (⌘C on a Mac) to copy it");
          }
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, failed);
        } else {
          failed();
        }
        window.setTimeout(function () { button.textContent = "Copy"; }, 4000);
      });
    });
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  /* The page that reveals a new key answers a POST. Replace its history entry with the
     integration page, so a reload is a GET that shows only the masked key (and generates
     nothing), and move focus to the key so screen readers announce it. */
  function setUpReveal() {
    var panel = document.querySelector("[data-reveal]");
    if (!panel) return;
    var url = panel.getAttribute("data-replace-url");
    if (url && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", url);
    }
    panel.focus();
  }

  /* Keep "expires in …" countdowns current while the page stays open. */
  function describe(milliseconds) {
    var minutes = Math.floor(milliseconds / 60000);
    if (minutes < 1) return "less than a minute";
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var plural = function (n, word) { return n + "\u00a0" + word + (n === 1 ? "" : "s"); };
    if (days) return plural(days, "day") + (hours ? ", " + plural(hours, "hour") : "");
    if (hours) return plural(hours, "hour") + (mins ? ", " + plural(mins, "minute") : "");
    return plural(mins, "minute");
  }

  /* The banner's short form, as the server writes it: "7 h 12 min", "2 d 3 h". */
  function describeShort(milliseconds) {
    var minutes = Math.floor(milliseconds / 60000);
    if (minutes < 1) return "less than a minute";
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) return days + " d" + (hours ? " " + hours + " h" : "");
    if (hours) return hours + " h" + (mins ? " " + mins + " min" : "");
    return mins + " min";
  }

  function setUpCountdowns() {
    var countdowns = document.querySelectorAll("time[data-countdown]");
    if (!countdowns.length) return;
    var tick = function () {
      countdowns.forEach(function (element) {
        var left = Date.parse(element.getAttribute("datetime")) - Date.now();
        var short = element.getAttribute("data-countdown") === "short";
        if (left <= 0) element.textContent = short ? "0 min (reload the page)" : "0\u00a0minutes (reload the page)";
        else element.textContent = short ? describeShort(left) : describe(left);
      });
    };
    window.setInterval(tick, 30000);
  }

  /* Confirmation links (Revoke): open the page's <dialog> instead of the confirmation page,
     posting to the same URL. Browsers without <dialog> follow the link. */
  function setUpConfirmDialogs() {
    document.querySelectorAll("[data-confirm-dialog]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var dialog = document.getElementById(link.getAttribute("data-confirm-dialog"));
        if (!dialog || typeof dialog.showModal !== "function") return;
        event.preventDefault();
        dialog.querySelector("[data-confirm-form]").setAttribute("action", link.href);
        dialog.querySelector("[data-confirm-key]").textContent = link.getAttribute("data-key");
        dialog.showModal();
      });
    });
  }

  function start() {
    setUpMenus();
    setUpNavigation();
    setUpCopyButtons();
    setUpReveal();
    setUpCountdowns();
    setUpConfirmDialogs();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
