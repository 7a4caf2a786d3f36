// Strefa Klienta: the one script. It only enhances: every page works without it.
// No inline code anywhere, so the pages run under a strict Content-Security-Policy.
(function () {
  "use strict";

  var statusRegion = function () { return document.getElementById("status"); };

  function announce(message, problem) {
    var region = statusRegion();
    if (!region) return;
    region.textContent = "";
    var paragraph = document.createElement("p");
    paragraph.textContent = message;
    if (problem) paragraph.className = "status__problem";
    region.appendChild(paragraph);
  }

  // After every swap, and on a page that comes back with errors, focus goes on purpose:
  // to the error summary if there is one, otherwise to the new step's heading.
  function moveFocus(container) {
    var target = container.querySelector("#error-summary") ||
      container.querySelector("[data-focus-after-swap]");
    if (target) target.focus();
  }

  // "Pokaż hasło": a button per password field, shown only when this script runs.
  function setUpPasswordToggles(root) {
    root.querySelectorAll("[data-show-password]").forEach(function (button) {
      if (button.dataset.ready) return;
      button.dataset.ready = "1";
      var input = document.getElementById(button.getAttribute("aria-controls"));
      var label = button.firstChild;
      button.hidden = false;
      // Said once: the button's new name and the live region's sentence, no aria-pressed
      // on top (a toggle whose name changes must not also be a pressed button).
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        label.textContent = show ? button.dataset.labelHide : button.dataset.labelShow;
        announce(show ? button.dataset.announceShown : button.dataset.announceHidden);
      });
      // Never submit a visible password field: browsers and extensions treat it as text.
      input.form.addEventListener("submit", function () { input.type = "password"; });
      input.form.addEventListener("htmx:config:request", function () { input.type = "password"; });
    });
  }

  // The password checklist: which parts of the rule are met, while typing. The password
  // never leaves the browser for this; the server decides. The rule's lengths and special
  // characters come from the page (data- attributes of the list), as the server has them.
  function passwordRules(list) {
    var shortest = Number(list.dataset.minLength);
    var longest = Number(list.dataset.maxLength);
    var special = list.dataset.specialCharacters;
    return {
      length: function (p) { return p.length >= shortest && p.length <= longest; },
      upper: function (p) { return /[A-Z]/.test(p); },
      lower: function (p) { return /[a-z]/.test(p); },
      digit: function (p) { return /[0-9]/.test(p); },
      allowed: function (p) {
        for (var i = 0; i < p.length; i++) {
          var c = p.charAt(i);
          if (!/[A-Za-z0-9]/.test(c) && special.indexOf(c) === -1) return false;
        }
        return p.length > 0;
      }
    };
  }

  function setUpChecklists(root) {
    root.querySelectorAll("[data-password-checklist]").forEach(function (list) {
      if (list.dataset.ready) return;
      list.dataset.ready = "1";
      var input = document.getElementById(list.dataset.passwordChecklist);
      var rules = passwordRules(list);
      var announcer = root.querySelector('[data-checklist-announcer="' + input.id + '"]');
      var timer = null;
      list.hidden = false;
      var describedBy = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (describedBy.indexOf(list.id) === -1) describedBy.push(list.id);
      input.setAttribute("aria-describedby", describedBy.join(" "));
      var items = list.querySelectorAll("[data-rule]");
      var announced = {};  // each rule as the announcer last told it
      function update() {
        items.forEach(function (item) {
          var met = rules[item.dataset.rule](input.value);
          item.dataset.met = String(met);
          item.classList.toggle("checklist__item--met", met);
        });
        // Neutral until typing starts: no ✗ against a field nobody has typed in.
        list.classList.toggle("checklist--started", input.value !== "");
      }
      // Politely, once typing pauses: every rule whose state differs from what was last
      // said, however many changed (and not one that changed and changed back) meanwhile.
      function announceChanges() {
        var changed = [];
        items.forEach(function (item) {
          var met = item.dataset.met === "true";
          if (announced[item.dataset.rule] !== met) {
            changed.push(item.textContent + ": " + (met ? announcer.dataset.met : announcer.dataset.unmet));
            announced[item.dataset.rule] = met;
          }
        });
        if (changed.length) announcer.textContent = changed.join(", ");
      }
      update();
      items.forEach(function (item) { announced[item.dataset.rule] = item.dataset.met === "true"; });
      input.addEventListener("input", function () {
        update();
        clearTimeout(timer);
        timer = setTimeout(announceChanges, 800);
      });
    });
  }

  // "Kopiuj numer rachunku": a real button, shown only when this script runs; the live
  // region says whether it worked.
  function setUpCopyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (button.dataset.ready || !navigator.clipboard) return;
      button.dataset.ready = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.dataset.copy).then(
          function () { announce(button.dataset.copied); },
          function () { announce(button.dataset.copyFailed); }
        );
      });
    });
  }

  function enhance(root) {
    setUpPasswordToggles(root);
    setUpChecklists(root);
    setUpCopyButtons(root);
  }

  // The language switcher goes back to the page it was on, which the server names. After
  // htmx has swapped steps in, that is the address bar's URL instead; while the address
  // bar still shows the URL the page was loaded at, the server's choice stands (for a page
  // shown for a post, that URL may take posts only).
  var loadedAt = location.pathname + location.search;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-language-switcher]")) return;
    var shown = location.pathname + location.search;
    if (shown !== loadedAt) form.querySelector('input[name="next"]').value = shown;
  });

  // The header's "Menu" (a <details>, which opens and closes without this script):
  // Escape closes it and puts focus back on "Menu", as for any disclosure; a click
  // outside it closes it too, as it covers the page.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = document.querySelector("[data-menu][open]");
    if (!menu || !menu.contains(document.activeElement)) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
  document.addEventListener("click", function (event) {
    var menu = document.querySelector("[data-menu][open]");
    if (menu && !menu.contains(event.target)) menu.open = false;
  });

  // An error summary's link focuses its field and scrolls the field's label (a radio's
  // legend) into view, as GOV.UK's does: following the #id alone put the input at the top
  // of the window, its label and message above it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
    var input = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!input) return;
    var fieldset = input.type === "radio" || input.type === "checkbox" ? input.closest("fieldset") : null;
    var caption = fieldset ? fieldset.querySelector("legend")
      : document.querySelector('label[for="' + input.id + '"]');
    if (!caption) return;
    event.preventDefault();
    caption.scrollIntoView();
    input.focus({ preventScroll: true });
  });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* works without it */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    setUpDialog();
    setUpSessionWarning();
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });

  document.addEventListener("htmx:config:request", function (event) {
    var token = document.querySelector('meta[name="csrf-token"]');
    if (token) event.detail.ctx.request.headers["X-CSRFToken"] = token.content;
  });

  // The activation window (SPEC §5.1): htmx puts its content into the <dialog>, this
  // opens it modally; closing it clears the content and gives focus back to the button
  // that opened it (or, if the swap removed that button, to the page's heading).
  var dialogOpener = null;

  document.addEventListener("htmx:before:request", function (event) {
    var source = event.detail.ctx.sourceElement;
    if (source && source.hasAttribute("data-opens-dialog")) dialogOpener = source;
  });

  function setUpDialog() {
    var dialog = document.getElementById("dialog");
    if (!dialog || dialog.dataset.ready) return;
    dialog.dataset.ready = "1";
    // Browsers let Tab leave a modal dialog for their own toolbar; keep it inside.
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") return;
      var focusable = Array.prototype.filter.call(dialog.querySelectorAll(
        'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
        'select, textarea, summary, [tabindex]:not([tabindex="-1"])'),
        function (element) { return element.getClientRects().length > 0; });
      if (!focusable.length) return;
      var first = focusable[0], last = focusable[focusable.length - 1];
      var outside = !dialog.contains(document.activeElement) ||
        document.activeElement === dialog.querySelector("[data-focus-after-swap]");
      if (event.shiftKey && (document.activeElement === first || outside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    dialog.addEventListener("close", function () {
      document.getElementById("dialog-content").textContent = "";
      var target = dialogOpener && document.contains(dialogOpener) ? dialogOpener :
        document.querySelector("#main h1");
      dialogOpener = null;
      if (target) target.focus();
    });
  }

  function swapTarget(event) {
    var target = event.detail.ctx && event.detail.ctx.target;
    return typeof target === "string" ? document.querySelector(target) : target;
  }

  // A step rendered in another language than the page's (switched in another tab) says so
  // (WCAG 3.1.2): the swapped part carries the language the server rendered it in.
  function markLanguage(target, event) {
    var response = event.detail.ctx && event.detail.ctx.response;
    var language = response && response.headers.get("Content-Language");
    if (!target || !target.setAttribute || !language) return;
    if (language === document.documentElement.lang) target.removeAttribute("lang");
    else target.setAttribute("lang", language);
  }

  document.addEventListener("htmx:after:swap", function (event) {
    var dialogContent = document.getElementById("dialog-content");
    var target = swapTarget(event);
    markLanguage(target, event);
    if (dialogContent && target === dialogContent) {
      var dialog = document.getElementById("dialog");
      enhance(dialogContent);
      if (!dialog.open) dialog.showModal();
      moveFocus(dialogContent);
      return;
    }
    // A part of the page that refreshes itself (the code step's "the SMS is late") never
    // takes focus from what the customer is typing; its news goes to the live region.
    if (target && target.hasAttribute && target.hasAttribute("data-keeps-focus")) return;
    var panel = document.getElementById("panel");
    if (!panel) return;
    enhance(panel);
    moveFocus(panel);
  });

  // A network failure: say so in the live region; the form and what was typed stay.
  document.addEventListener("htmx:error", function () {
    announce(document.body.dataset.networkError, true);
  });

  // A server error (5xx: the database or Redis away for a moment, or too many customers
  // logging in): the answer never replaces the form the customer typed into; its words go
  // to the live region (a form's own problems when it came back with them, the error
  // page's heading and message otherwise).
  document.addEventListener("htmx:before:swap", function (event) {
    var response = event.detail.ctx && event.detail.ctx.response;
    if (!response) return;
    if (response.status === 401) {  // the session ended while the form was open
      event.preventDefault();
      showLoggedOut(event.detail.ctx.text);
      return;
    }
    if (response.status < 500) return;
    event.preventDefault();
    announce(serverErrorText(event.detail.ctx.text) || document.body.dataset.networkError);
  });

  // A form sent after the session ended: like a server error, the answer never replaces
  // the form, so what was typed stays; the page's header is the answer's (no longer
  // signed in), and its notice (logged out, log in again) goes above the form, in the
  // activation window when the form is there.
  function showLoggedOut(html) {
    var page = new DOMParser().parseFromString(html || "", "text/html");
    var header = page.querySelector(".site-header");
    var notice = page.getElementById("logged-out-notice");
    var currentHeader = document.querySelector(".site-header");
    if (header && currentHeader) currentHeader.replaceWith(document.importNode(header, true));
    endSessionTimers();
    sessionTimers.ends = 0;  // no longer signed in: another tab's session is not followed
    var warning = document.getElementById("session-warning");
    if (warning && warning.open) warning.close();
    if (!notice) return;
    notice = document.importNode(notice, true);
    // Not a second <h1> in the page: the heading becomes the notice's first, strong line.
    var heading = notice.querySelector("h1");
    if (heading) {
      var line = document.createElement("p");
      var strong = document.createElement("strong");
      strong.textContent = heading.textContent;
      line.appendChild(strong);
      heading.replaceWith(line);
    }
    notice.className = "status__problem";
    notice.tabIndex = -1;
    var dialog = document.getElementById("dialog");
    var container = dialog && dialog.open ? document.getElementById("dialog-content") : statusRegion();
    var old = document.getElementById("logged-out-notice");
    if (old) old.remove();
    if (container === statusRegion()) container.textContent = "";
    container.insertBefore(notice, container.firstChild);
    notice.focus();
  }

  function serverErrorText(html) {
    var fragment = new DOMParser().parseFromString(html || "", "text/html");
    var problems = fragment.querySelectorAll(".error-summary__list li");
    var words = problems.length ? problems : fragment.querySelectorAll("h1, h1 + p");
    return Array.prototype.map.call(words, function (element) {
      return element.textContent.trim();
    }).join(" ");
  }
  // The idle timeout told in time (WCAG 2.2.1): SESSION_WARNING_BEFORE the end of the
  // session (data- attributes of #session-warning, rendered by the server), an alert
  // dialog says when it ends and offers "Nie wylogowuj mnie"; every answer to a signed-in
  // request says how long the session has left (X-Session-Time-Left), and the timers
  // start again from it. At the end the login page says why the customer was logged out.
  var sessionTimers = { warn: null, end: null, ends: 0, returnFocus: null };

  // The tabs of one browser share one session: each writes its end (a time on this
  // browser's clock) where the others see it, so a tab left alone neither warns nor
  // leaves while the customer works in another. Without storage (a private window may
  // refuse it), each tab counts on its own.
  var SESSION_END_KEY = "ebok-session-ends-at";
  // Two tabs' ends of the same session differ by the rounding up and the answer's way.
  var SAME_SESSION_END_MS = 2000;

  function sharedSessionEnd() {
    try {
      return Number(window.localStorage.getItem(SESSION_END_KEY)) || 0;
    } catch (error) {
      return 0;
    }
  }

  function shareSessionEnd(ends) {
    try {
      window.localStorage.setItem(SESSION_END_KEY, String(ends));
    } catch (error) { /* this tab's own timer is all there is */ }
  }

  // Another tab's end, when it kept the session going past this tab's.
  function laterSessionEnd() {
    var shared = sharedSessionEnd();
    return shared > sessionTimers.ends + SAME_SESSION_END_MS ? shared : 0;
  }

  function endSessionTimers() {
    clearTimeout(sessionTimers.warn);
    clearTimeout(sessionTimers.end);
  }

  // What the server said of this session: the latest end any tab knows of (the session's
  // end only moves later while it lasts), shared when it is this tab's.
  function scheduleSessionWarning(secondsLeft) {
    if (!document.getElementById("session-warning") || !(secondsLeft >= 0)) return;
    var ends = Date.now() + secondsLeft * 1000;
    var shared = sharedSessionEnd();
    if (ends > shared) shareSessionEnd(ends);
    scheduleSessionEnd(Math.max(ends, shared));
  }

  function scheduleSessionEnd(ends) {
    var dialog = document.getElementById("session-warning");
    endSessionTimers();
    if (dialog.open) closeSessionWarning();
    sessionTimers.ends = ends;
    var left = Math.max(0, ends - Date.now());
    var warnIn = Math.max(0, left - Number(dialog.dataset.warnBefore) * 1000);
    sessionTimers.warn = setTimeout(openSessionWarning, warnIn);
    // A second past the end, so that the server has ended the session too.
    sessionTimers.end = setTimeout(leaveEndedSession, left + 1000);
  }

  function leaveEndedSession() {
    var later = laterSessionEnd();
    if (later) {
      scheduleSessionEnd(later);
      return;
    }
    location.assign(document.getElementById("session-warning").dataset.loggedOutUrl);
  }

  function openSessionWarning() {
    var dialog = document.getElementById("session-warning");
    if (!dialog || dialog.open) return;
    var later = laterSessionEnd();
    if (later) {
      scheduleSessionEnd(later);
      return;
    }
    var time = new Date(sessionTimers.ends).toLocaleTimeString(
      document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
    document.getElementById("session-warning-text").textContent =
      dialog.dataset.text.replace("{time}", time);
    sessionTimers.returnFocus = document.activeElement;
    dialog.showModal();
    dialog.querySelector("[data-stay-logged-in] button").focus();
  }

  function closeSessionWarning() {
    var dialog = document.getElementById("session-warning");
    if (!dialog || !dialog.open) return;
    dialog.close();
    var target = sessionTimers.returnFocus;
    sessionTimers.returnFocus = null;
    if (target && target.focus && document.contains(target)) target.focus();
  }

  function stayLoggedIn() {
    var dialog = document.getElementById("session-warning");
    var form = dialog.querySelector("[data-stay-logged-in]");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (response.status !== 204) {  // it had ended already (another tab logged out)
          location.assign(dialog.dataset.loggedOutUrl);
          return;
        }
        scheduleSessionWarning(Number(response.headers.get("X-Session-Time-Left")));
      }, function () {
        // The dialog stays open: say why nothing happened, inside it (the page is inert).
        document.getElementById("session-warning-text").textContent =
          document.body.dataset.networkError;
      });
  }

  function setUpSessionWarning() {
    var dialog = document.getElementById("session-warning");
    if (!dialog) return;
    dialog.querySelector("[data-stay-logged-in]").addEventListener("submit", function (event) {
      event.preventDefault();
      stayLoggedIn();
    });
    // Escape answers as "Nie wylogowuj mnie" does (GOV.UK's timeout warning): the customer
    // is plainly there.
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      stayLoggedIn();
    });
    scheduleSessionWarning(Number(dialog.dataset.secondsLeft));
  }

  // Another tab kept the session going: this one's timers follow (its open warning closes).
  window.addEventListener("storage", function (event) {
    if (event.key !== SESSION_END_KEY || !sessionTimers.ends) return;
    var later = laterSessionEnd();
    if (later) scheduleSessionEnd(later);
  });

  document.addEventListener("htmx:after:request", function (event) {
    var response = event.detail.ctx && event.detail.ctx.response;
    var left = response && response.headers.get("X-Session-Time-Left");
    if (left) scheduleSessionWarning(Number(left));
  });
})();
