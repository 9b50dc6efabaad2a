// While a delivery of this page is on its way, ask the server for the deliveries every few
// seconds and swap them in; say what changed in a polite live region. Stops once nothing
// is pending. Without this script the page is complete, and a reload shows the same.
(() => {
  const REGION_ID = "sf-deliveries";
  const status = document.getElementById("sf-deliveries-status");
  const initial = document.getElementById(REGION_ID);
  if (!initial || !status) {
    return;
  }
  const url = initial.dataset.refreshUrl;
  const delay = Number(initial.dataset.pollSeconds || 5) * 1000;

  // The server's last answer: swap only when it says something new.
  let lastAnswer = initial.outerHTML;

  const states = (region) =>
    new Map([...region.querySelectorAll("tr[data-state]")].map((row) => [row.id, row]));

  async function refresh() {
    const current = document.getElementById(REGION_ID);
    let response;
    try {
      response = await fetch(url, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      });
    } catch {
      window.setTimeout(refresh, delay * 2);
      return;
    }
    if (!response.ok) {
      // Signed out or no longer permitted: the next reload says why.
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    const fresh = template.content.getElementById(REGION_ID);
    if (!fresh) {
      return;
    }
    if (fresh.outerHTML !== lastAnswer) {
      lastAnswer = fresh.outerHTML;
      const before = states(current);
      const changed = [...states(fresh)]
        .filter(([id, row]) => before.get(id)?.dataset.state !== row.dataset.state)
        .map(([, row]) => row.dataset.announce);
      // Keep open what the reader opened, and where the focus was.
      const open = [...current.querySelectorAll("details[open]")].map((details) => details.id);
      const active = current.contains(document.activeElement) ? document.activeElement : null;
      // A summary has no id of its own; its details has.
      const focused = active && (active.id || active.closest("details")?.id);
      current.replaceWith(fresh);
      open.forEach((id) => fresh.querySelector(`#${CSS.escape(id)}`)?.setAttribute("open", ""));
      if (focused) {
        const target = document.getElementById(focused);
        (target?.matches("details") ? target.querySelector("summary") : target)?.focus();
      }
      if (changed.length) {
        status.textContent = changed.join(". ");
      }
    }
    if (fresh.dataset.pending === "true") {
      window.setTimeout(refresh, delay);
    }
  }

  if (initial.dataset.pending === "true") {
    window.setTimeout(refresh, delay);
  }
})();
