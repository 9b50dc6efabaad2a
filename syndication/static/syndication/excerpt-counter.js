// Counter and preview beside every channel excerpt in the page editor. The server
// measures each text with the channel module's own rule, so the counter shown here
// and the check on submit cannot disagree.
(() => {
  const configElement = document.getElementById("syndication-excerpt-counter");
  if (!configElement) {
    return;
  }
  const config = JSON.parse(configElement.textContent);
  const TEXT_NAME = /^excerpts-\d+-text$/;
  // Ask once the editor pauses, not on every keystroke.
  const PAUSE_MS = 250;
  const timers = new WeakMap();
  const requests = new WeakMap();

  const isExcerptText = (element) => element instanceof HTMLTextAreaElement && TEXT_NAME.test(element.name);
  const accountOf = (textarea) => document.querySelector(`[name="${textarea.name.replace(/-text$/, "-account")}"]`);

  function widgetOf(textarea) {
    const id = `${textarea.id}-syndication`;
    let widget = document.getElementById(id);
    if (widget) {
      return widget;
    }
    widget = document.createElement("div");
    widget.id = id;
    widget.className = "sf-excerpt";
    const counter = document.createElement("p");
    counter.id = `${id}-counter`;
    counter.className = "sf-excerpt__counter";
    counter.setAttribute("aria-live", "polite");
    const rule = document.createElement("p");
    rule.className = "sf-excerpt__rule";
    const heading = document.createElement("p");
    heading.className = "sf-excerpt__heading";
    heading.textContent = config.preview;
    const preview = document.createElement("div");
    preview.className = "sf-excerpt__preview";
    widget.append(counter, rule, heading, preview);
    textarea.insertAdjacentElement("afterend", widget);
    const describedBy = textarea.getAttribute("aria-describedby");
    textarea.setAttribute("aria-describedby", describedBy ? `${describedBy} ${counter.id}` : counter.id);
    return widget;
  }

  function show(textarea, { counter = "", rule = "", over = false }) {
    const widget = widgetOf(textarea);
    const counterElement = widget.querySelector(".sf-excerpt__counter");
    counterElement.textContent = counter;
    counterElement.classList.toggle("sf-excerpt__counter--over", over);
    widget.querySelector(".sf-excerpt__rule").textContent = rule;
    if (over) {
      textarea.setAttribute("aria-invalid", "true");
    } else {
      textarea.removeAttribute("aria-invalid");
    }
  }

  async function measure(textarea) {
    const account = accountOf(textarea);
    const preview = widgetOf(textarea).querySelector(".sf-excerpt__preview");
    preview.textContent = textarea.value.trim() ? textarea.value : config.empty;
    if (!account || !account.value) {
      show(textarea, {});
      return;
    }
    const token = document.querySelector("input[name=csrfmiddlewaretoken]");
    const body = new FormData();
    body.append("account", account.value);
    body.append("text", textarea.value);
    const request = {};
    requests.set(textarea, request);
    let data;
    try {
      const response = await fetch(config.url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": token ? token.value : "" },
        credentials: "same-origin",
      });
      data = await response.json();
    } catch {
      data = { message: config.failed };
    }
    // A slower answer to an earlier text must not overwrite the latest one.
    if (requests.get(textarea) !== request) {
      return;
    }
    if (data.limit === undefined) {
      show(textarea, { counter: data.message });
      return;
    }
    show(textarea, {
      counter: `${data.count} / ${data.limit} – ${data.message}`,
      rule: data.counting_rule,
      over: data.overflow > 0,
    });
  }

  function schedule(textarea) {
    clearTimeout(timers.get(textarea));
    timers.set(textarea, setTimeout(() => measure(textarea), PAUSE_MS));
  }

  document.addEventListener("input", (event) => {
    if (isExcerptText(event.target)) {
      schedule(event.target);
    }
  });
  document.addEventListener("change", (event) => {
    const name = event.target.name || "";
    if (/^excerpts-\d+-account$/.test(name)) {
      const textarea = document.querySelector(`[name="${name.replace(/-account$/, "-text")}"]`);
      if (textarea) {
        schedule(textarea);
      }
    }
  });
  document.querySelectorAll("textarea").forEach((textarea) => {
    if (isExcerptText(textarea)) {
      measure(textarea);
    }
  });
})();
