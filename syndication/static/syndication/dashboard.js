// While a copy in the listed rows is on its way, ask for the rows again every few seconds
// and swap them in (the same results Wagtail's filters fetch); say in a polite live region
// how many copies changed. Without this script a reload shows the same.
(() => {
  const REGION_ID = "sf-distribution";
  const status = document.getElementById("sf-distribution-status");
  if (!status) {
    return;
  }

  const cellStates = (region) => [...region.querySelectorAll("td")].map((cell) => cell.textContent.trim());

  async function refresh() {
    // Wagtail's filters may have replaced the rows since: always look the region up again.
    const current = document.getElementById(REGION_ID);
    if (!current || current.dataset.pending !== "true") {
      return;
    }
    let response;
    try {
      response = await fetch(current.dataset.refreshUrl + window.location.search, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      });
    } catch {
      return;
    }
    if (!response.ok) {
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    const fresh = template.content.getElementById(REGION_ID);
    if (!fresh || fresh.outerHTML === current.outerHTML) {
      return;
    }
    const before = cellStates(current);
    const changed = cellStates(fresh).filter((text, index) => text !== before[index]).length;
    const hadFocus = current.contains(document.activeElement);
    current.replaceWith(fresh);
    if (hadFocus) {
      fresh.focus();
    }
    if (changed) {
      status.textContent = status.dataset.changed
        ? status.dataset.changed.replace("%(count)s", changed)
        : String(changed);
    }
  }

  const region = document.getElementById(REGION_ID);
  const delay = Number(region?.dataset.pollSeconds || 5) * 1000;
  window.setInterval(refresh, delay);
})();
