/* The helpers' page of live help (community/templates/community/site/live/helper.html): go online
   (the page's event stream is the helper's heartbeat while it is open), see who waits, take a
   conversation and answer it. Texts from the visitors are set as text, never as HTML. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-helper]");
  if (!root || !window.EventSource) return;
  var base = root.getAttribute("data-base").replace(/status$/, "");
  var csrf = root.getAttribute("data-csrf");
  var STORED = "community-live-online";
  var toggle = root.querySelector("[data-live-toggle]");
  var presence = root.querySelector("[data-live-presence]");
  var waiting = root.querySelector("[data-live-waiting]");
  var mine = root.querySelector("[data-live-mine]");
  var chat = root.querySelector("[data-live-chat]");
  var chatTitle = root.querySelector("[data-live-chat-title]");
  var log = root.querySelector("[data-live-log]");
  var form = root.querySelector("[data-live-form]");
  var endButton = root.querySelector("[data-live-end]");
  var errorLine = root.querySelector("[data-live-error]");
  var online = false, queueSource = null, chatSource = null, current = null, shown = {};
  var presenceSent = Promise.resolve();

  function text(name) { return root.getAttribute("data-text-" + name) || ""; }

  function el(tag, className, words) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (words) node.textContent = words;
    return node;
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(data || {}),
      headers: { "X-CSRFToken": csrf, Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (json) { json.ok = response.ok; return json; });
    });
  }

  function error(words) {
    errorLine.textContent = words || "";
    errorLine.hidden = !words;
  }

  function setOnline(next) {
    online = next;
    toggle.textContent = text(next ? "go-offline" : "go-online");
    presence.textContent = text(next ? "online" : "offline");
    presence.setAttribute("data-online", String(next));
    if (next) window.sessionStorage.setItem(STORED, "yes");
    else window.sessionStorage.removeItem(STORED);
    if (queueSource) queueSource.close();
    // One presence change after the other: sent at once, the page's "offline" on load could reach
    // the server after a quick "online" click and leave the helper offline.
    presenceSent = presenceSent.catch(function () {}).then(function () {
      return post(root.getAttribute("data-presence"), { online: next ? "yes" : "no" });
    }).then(function () {
      if (online !== next) return;  // changed again meanwhile: the later change opens its stream
      queueSource = new EventSource(root.getAttribute("data-events") + (next ? "?online=yes" : ""));
      queueSource.addEventListener("queue", function (e) { queue(JSON.parse(e.data)); });
    });
  }

  function item(conversation, action) {
    var li = el("li");
    li.setAttribute("data-conversation", conversation.id);
    if (current && current.id === conversation.id) li.setAttribute("aria-current", "true");
    li.appendChild(el("strong", "", conversation.visitor || text("visitor")));
    if (conversation.first) li.appendChild(el("p", "", conversation.first));
    var button = el("button", "button secondary", text(action));
    button.type = "button";
    button.addEventListener("click", function () {
      if (action === "answer") take(conversation);
      else show(conversation);
    });
    li.appendChild(button);
    return li;
  }

  function fill(list, items, action, empty) {
    list.replaceChildren();
    if (!items.length) list.appendChild(el("li", "muted", text(empty)));
    items.forEach(function (conversation) { list.appendChild(item(conversation, action)); });
  }

  function queue(data) {
    fill(waiting, data.waiting, "answer", "none-waiting");
    fill(mine, data.mine, "open", "none-mine");
  }

  function take(conversation) {
    post(base + "c/" + conversation.id + "/take").then(function (json) {
      if (!json.ok) { error(json.error || text("taken")); return; }
      error("");
      show(Object.assign({}, conversation, json.conversation));
    });
  }

  function message(item) {
    var node = shown[item.id];
    if (!node) {
      node = shown[item.id] = el("li", "live__msg live__msg--" + item.author);
      node.setAttribute("data-message", item.id);
      node.appendChild(el("span", "live__who", item.author === "helper" ? text("you") : (current.visitor || text("visitor"))));
      node.appendChild(el("span", "live__text", item.text));
      log.appendChild(node);
    }
    node.classList.toggle("live__msg--held", item.state !== "published");
    var note = node.querySelector(".live__held");
    if (item.state !== "published" && !note) node.appendChild(el("span", "live__held", text("held")));
    if (item.state === "published" && note) note.remove();
    log.scrollTop = log.scrollHeight;
  }

  function show(conversation) {
    current = conversation;
    shown = {};
    log.replaceChildren();
    error("");
    chat.hidden = false;
    form.hidden = false;
    endButton.hidden = false;
    chatTitle.textContent = conversation.visitor || text("visitor");
    if (chatSource) chatSource.close();
    chatSource = new EventSource(base + "c/" + conversation.id + "/events?as=helper");
    chatSource.addEventListener("message", function (e) { message(JSON.parse(e.data)); });
    chatSource.addEventListener("state", function (e) {
      var state = JSON.parse(e.data);
      if (state.state === "closed") {
        chatSource.close();
        form.hidden = true;
        endButton.hidden = true;
        error(text("closed"));
      }
    });
    root.querySelectorAll("[data-conversation]").forEach(function (li) {
      li.setAttribute("aria-current", String(li.getAttribute("data-conversation") === String(conversation.id)));
    });
    form.querySelector("textarea").focus();
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var area = form.querySelector("textarea");
    var words = area.value.trim();
    if (!words || !current) return;
    post(base + "c/" + current.id + "/send", { text: words, as: "helper" }).then(function (json) {
      if (!json.ok) { error(json.error); return; }
      area.value = "";
      message(json.message);
    });
  });
  form.querySelector("textarea").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  endButton.addEventListener("click", function () {
    if (current) post(base + "c/" + current.id + "/close", { as: "helper" });
  });
  toggle.addEventListener("click", function () { setOnline(!online); });
  window.addEventListener("pagehide", function () {
    if (online && navigator.sendBeacon) {
      var data = new FormData();
      data.append("online", "no");
      data.append("csrfmiddlewaretoken", csrf);
      navigator.sendBeacon(root.getAttribute("data-presence"), data);
    }
  });
  setOnline(window.sessionStorage.getItem(STORED) === "yes");
})();
