/* The "ask a member" window of live help (community/site/live.py), on every page of the site
   (themes/base.html). It asks the status: while a helper is online (or the visitor has a
   conversation going) it shows a button and the window; otherwise nothing, and the Q&A is where
   questions go. Messages arrive by server-sent events; every text is set as text, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.EventSource) return;
  var statusUrl = script.getAttribute("data-status");
  var base = statusUrl.replace(/status$/, "");
  var STATUS_EVERY = 30000;
  var status = null, texts = {}, root = null, log = null, form = null, stateLine = null;
  var conversation = null, source = null, shown = {};

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function post(url, data) {
    var body = new URLSearchParams(data || {});
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": status.csrf || "", Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (json) { json.ok = response.ok; return json; });
    });
  }

  function stylesheet() {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = script.src.replace(/live\.js(\?.*)?$/, "live.css");
    document.head.appendChild(link);
  }

  function questionsLink(parent) {
    if (!status.questions_url) return;
    var p = el("p", "live__qa");
    var a = el("a", "", texts.ask_qa);
    a.href = status.questions_url;
    p.appendChild(a);
    parent.appendChild(p);
  }

  function message(item) {
    var node = shown[item.id];
    if (!node) {
      node = shown[item.id] = el("li", "live__msg live__msg--" + item.author);
      node.appendChild(el("span", "live__who", item.author === "visitor" ? texts.you : (conversation.helper || texts.helper)));
      node.appendChild(el("span", "live__text", item.text));
      node.setAttribute("data-message", item.id);
      log.appendChild(node);
    }
    node.classList.toggle("live__msg--held", item.state !== "published");
    var note = node.querySelector(".live__held");
    if (item.state !== "published" && !note) node.appendChild(el("span", "live__held", texts.held));
    if (item.state === "published" && note) note.remove();
    log.scrollTop = log.scrollHeight;
  }

  function state(data) {
    conversation = data;
    root.setAttribute("data-state", data.state);
    if (data.state === "waiting") stateLine.textContent = texts.waiting;
    else if (data.state === "open") stateLine.textContent = texts.talking.replace("%s", data.helper);
    else stateLine.textContent = texts.closed;
    if (data.state === "closed") {
      if (source) { source.close(); source = null; }
      form.hidden = true;
      closeButton.hidden = true;
      if (data.helper && !data.rated) rating();
      else questionsLink(panel);
    }
  }

  function listen() {
    if (source) source.close();
    source = new EventSource(base + "c/" + conversation.id + "/events");
    source.addEventListener("message", function (e) { message(JSON.parse(e.data)); });
    source.addEventListener("state", function (e) { state(JSON.parse(e.data)); });
  }

  function rating() {
    if (panel.querySelector(".live__rate")) return;
    var box = el("form", "live__rate");
    box.appendChild(el("p", "live__rate-title", texts.rate));
    var stars = el("fieldset", "live__stars");
    stars.appendChild(el("legend", "", texts.rating));
    for (var i = 1; i <= 5; i++) {
      var label = el("label", "", String(i));
      var input = el("input");
      input.type = "radio"; input.name = "rating"; input.value = String(i); input.required = true;
      label.prepend(input);
      stars.appendChild(label);
    }
    box.appendChild(stars);
    var helpful = el("fieldset", "live__helpful");
    helpful.appendChild(el("legend", "", texts.helpful));
    [["yes", texts.yes], ["no", texts.no]].forEach(function (choice) {
      var label = el("label", "", choice[1]);
      var input = el("input");
      input.type = "radio"; input.name = "helpful"; input.value = choice[0]; input.required = true;
      label.prepend(input);
      helpful.appendChild(label);
    });
    box.appendChild(helpful);
    var send = el("button", "button", texts.send_rating);
    send.type = "submit";
    box.appendChild(send);
    box.addEventListener("submit", function (e) {
      e.preventDefault();
      post(base + "c/" + conversation.id + "/rate", new FormData(box)).then(function (json) {
        if (!json.ok) { error(json.error); return; }
        box.replaceWith(el("p", "live__thanks", texts.thanks));
      });
    });
    panel.appendChild(box);
  }

  function error(text) {
    var old = panel.querySelector(".live__error");
    if (old) old.remove();
    if (text) panel.insertBefore(el("p", "live__error", text), form);
  }

  var panel, toggle, closeButton, nameField;

  function build() {
    stylesheet();
    root = el("aside", "live");
    root.setAttribute("aria-label", texts.title);
    toggle = el("button", "live__toggle", texts.title);
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", "live-panel");
    panel = el("section", "live__panel");
    panel.id = "live-panel";
    panel.hidden = true;
    var head = el("header", "live__head");
    head.appendChild(el("h2", "live__title", texts.title));
    closeButton = el("button", "live__end button secondary", texts.end);
    closeButton.type = "button";
    closeButton.hidden = true;
    head.appendChild(closeButton);
    panel.appendChild(head);
    stateLine = el("p", "live__state", texts.intro);
    stateLine.setAttribute("role", "status");
    panel.appendChild(stateLine);
    log = el("ol", "live__log");
    log.setAttribute("aria-live", "polite");
    panel.appendChild(log);
    form = el("form", "live__form");
    nameField = el("input", "live__name");
    nameField.name = "name"; nameField.maxLength = 80; nameField.placeholder = texts.name;
    nameField.setAttribute("aria-label", texts.name);
    var text = el("textarea", "live__input");
    text.name = "text"; text.required = true; text.maxLength = 2000; text.rows = 2;
    text.placeholder = texts.placeholder;
    text.setAttribute("aria-label", texts.placeholder);
    var send = el("button", "button", texts.send);
    send.type = "submit";
    form.appendChild(nameField); form.appendChild(text); form.appendChild(send);
    panel.appendChild(form);
    root.appendChild(toggle); root.appendChild(panel);
    document.body.appendChild(root);

    toggle.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) text.focus();
    });
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    closeButton.addEventListener("click", function () {
      post(base + "c/" + conversation.id + "/close").then(function (json) {
        if (json.ok) state(json.conversation);
      });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var words = text.value.trim();
      if (!words) return;
      var url = conversation ? base + "c/" + conversation.id + "/send" : base + "start";
      post(url, { text: words, name: nameField.value }).then(function (json) {
        if (!json.ok) {
          error(json.error);
          if (json.code === "no_helper_online") { form.hidden = true; questionsLink(panel); }
          return;
        }
        error("");
        text.value = "";
        if (json.conversation) { open(json.conversation); }
        message(json.message);
      });
    });
  }

  function open(data) {
    conversation = data;
    nameField.hidden = true;
    closeButton.hidden = false;
    state(data);
    if (data.state !== "closed") listen();
  }

  function refresh() {
    return fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  }

  function apply(next) {
    if (!next) return;
    var visible = next.online || next.conversation;
    document.documentElement.setAttribute("data-live", visible ? "on" : "off");
    if (!visible) {
      if (root && !conversation) root.hidden = true;
      return;
    }
    status = next;
    texts = next.texts || texts;
    if (!root) build();
    root.hidden = false;
    if (next.conversation && !conversation) {
      open(next.conversation);
      panel.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
    }
  }

  if (document.querySelector("[data-live-helper]")) return; // the helpers' own page
  refresh().then(apply);
  window.setInterval(function () { if (!conversation) refresh().then(apply); }, STATUS_EVERY);
})();
