/* Mijn Spiegel: the password fields of the account pages (docs/security.md, ASVS 2.1.8, 2.1.12).

   - A "Toon wachtwoord" button beside every password field: it switches the field between
     hidden and readable text (aria-pressed tells its state). Every field is hidden again
     before the form is sent, so that a password manager still sees a password field.
   - A strength meter under the new password (the field named password1), updated while
     typing; its text is in an aria-live region, so a screen reader hears it too.

   The estimate is advisory and stays in the browser: the server's validators decide (at
   least 12 characters, at most 128, not a common password, not like the e-mail address).
   It counts the length and the kinds of character, and discounts what a guesser tries
   first: common words and passwords, repeated characters, runs such as "1234" or "qwerty",
   years, and the e-mail address typed on the page. No inline script (the CSP forbids it):
   this file is loaded with `defer` by the account templates. */
(function () {
  "use strict";

  var COMMON = [
    "wachtwoord", "password", "passw0rd", "welkom", "welcome", "geheim", "secret", "letmein",
    "qwerty", "azerty", "asdf", "zxcv", "admin", "beheer", "login", "inloggen", "gebruiker",
    "spiegel", "fysio", "fysiotherapie", "oefentherapie", "praktijk", "therapie", "zorg",
    "iloveyou", "monkey", "dragon", "sunshine", "princess", "football", "voetbal", "ajax",
    "feyenoord", "amsterdam", "rotterdam", "utrecht", "holland", "nederland",
    "zomer", "winter", "lente", "herfst", "januari", "februari", "maart", "april", "juni",
    "juli", "augustus", "september", "oktober", "november", "december", "maandag", "vrijdag",
    "hallo", "test", "changeme", "default", "master", "hello", "liefde", "schat"
  ];
  var SEQUENCES = ["abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "azertyuiop"];
  var LEET = { "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s", "!": "i" };
  var LEVELS = ["zeer zwak", "zwak", "redelijk", "sterk", "zeer sterk"];

  function chars(text) { return Array.from(text); }

  function pool(password) {
    var size = 0;
    if (/[a-z]/.test(password)) size += 26;
    if (/[A-Z]/.test(password)) size += 26;
    if (/[0-9]/.test(password)) size += 10;
    if (/[ -\/:-@\[-`{-~]/.test(password)) size += 33;
    if (/[^\x00-\x7f]/.test(password)) size += 100;
    return Math.max(size, 10);
  }

  function normalise(password) {
    return chars(password.toLowerCase()).map(function (c) { return LEET[c] || c; }).join("");
  }

  /* The password's length once what a guesser tries first counts as one character. */
  function effectiveLength(password, related) {
    var text = password.toLowerCase();
    // years 1950-2039, then runs along the alphabet, the digits or a keyboard row (either way)
    text = text.replace(/(19[5-9]\d|20[0-3]\d)/g, "\u0002");
    SEQUENCES.forEach(function (row) {
      [row, chars(row).reverse().join("")].forEach(function (line) {
        for (var size = line.length; size >= 3; size--) {
          for (var start = 0; start + size <= line.length; start++) {
            var part = line.slice(start, start + size);
            if (text.indexOf(part) !== -1) text = text.split(part).join("\u0003");
          }
        }
      });
    });
    // common words and passwords, also in "leet" spelling (p4ssw0rd), and the e-mail address
    text = normalise(text);
    var words = COMMON.concat(related).filter(function (w) { return w && w.length >= 3; });
    words.sort(function (a, b) { return b.length - a.length; });
    var found = [];
    words.forEach(function (word) {
      var spelled = normalise(word);
      if (text.indexOf(spelled) !== -1) {
        found.push(word);
        text = text.split(spelled).join("\u0001");
      }
    });
    // a character repeated: the run counts as one
    text = text.replace(/(.)\1+/g, "$1");
    return { length: chars(text).length, found: found };
  }

  function estimate(password, related, minLength) {
    if (!password) return { score: -1, text: "Nog geen wachtwoord ingevuld." };
    var length = chars(password).length;
    var reduced = effectiveLength(password, related);
    var bits = reduced.length * Math.log2(pool(password));
    var score = bits < 28 ? 0 : bits < 40 ? 1 : bits < 60 ? 2 : bits < 80 ? 3 : 4;
    // mostly made of what a guesser tries first: weak, however long
    if (reduced.length * 2 < length) score = Math.min(score, 1);
    var hints = [];
    if (length < minLength) {
      score = Math.min(score, 1);
      hints.push("nog " + (minLength - length) + (minLength - length === 1 ? " teken" : " tekens") +
        " tot het minimum van " + minLength);
    }
    if (reduced.found.length) {
      hints.push("vermijd bekende woorden of uw e-mailadres (" + reduced.found.slice(0, 2).join(", ") + ")");
    } else if (reduced.length < length - 2) {
      hints.push("vermijd herhalingen, reeksen en jaartallen");
    }
    if (score < 3 && !hints.length) hints.push("maak het langer, bijvoorbeeld met een paar losse woorden");
    var text = "Sterkte van het wachtwoord: " + LEVELS[score] + ".";
    if (hints.length) text += " Tip: " + hints.join("; ") + ".";
    return { score: score, text: text };
  }

  function relatedWords(form) {
    var words = [];
    var email = form && form.querySelector("input[type=email], input[name=email]");
    var address = (email && email.value) || (document.querySelector(".who") || {}).textContent || "";
    address.toLowerCase().split(/[@.\-_+\s]+/).forEach(function (part) {
      if (part.length >= 3) words.push(part);
    });
    return words;
  }

  function addToggle(input, number) {
    if (!input.id) input.id = "wachtwoord-veld-" + number;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "password-toggle";
    button.textContent = "Toon wachtwoord";
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-controls", input.id);
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", show ? "true" : "false");
      input.focus();
    });
    input.insertAdjacentElement("afterend", button);
    if (input.form && !input.form.dataset.passwordsHiddenOnSubmit) {
      input.form.dataset.passwordsHiddenOnSubmit = "1";
      input.form.addEventListener("submit", function () {
        input.form.querySelectorAll(".password-toggle").forEach(function (b) {
          var field = document.getElementById(b.getAttribute("aria-controls"));
          if (field) field.type = "password";
          b.setAttribute("aria-pressed", "false");
        });
      });
    }
  }

  function addMeter(meterBox) {
    var input = document.querySelector("input[name=password1]");
    if (!input) return;
    var meter = meterBox.querySelector("meter");
    var text = meterBox.querySelector("[aria-live]");
    var minLength = parseInt(meterBox.dataset.minLength || "12", 10);
    var anchor = input.closest("p, div.field, .form-group") || input;
    anchor.insertAdjacentElement("afterend", meterBox);
    meterBox.hidden = false;
    var described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (described.indexOf(text.id) === -1) described.push(text.id);
    input.setAttribute("aria-describedby", described.join(" "));
    function update() {
      var result = estimate(input.value, relatedWords(input.form), minLength);
      meter.value = result.score + 1; // 0 (empty) to 5 (zeer sterk)
      meterBox.dataset.score = String(result.score);
      if (text.textContent !== result.text) text.textContent = result.text;
    }
    input.addEventListener("input", update);
    var email = input.form && input.form.querySelector("input[name=email]");
    if (email) email.addEventListener("input", update);
    update();
  }

  function start() {
    var fields = document.querySelectorAll("main input[type=password]");
    for (var i = 0; i < fields.length; i++) addToggle(fields[i], i + 1);
    var meterBox = document.querySelector("[data-password-strength]");
    if (meterBox) addMeter(meterBox);
  }

  window.spiegelPasswordStrength = estimate; // for the tests and the curious; changes nothing
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
