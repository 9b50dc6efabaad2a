// The channel account form: show only the credential fields the chosen network uses.
// Without this script every field shows, each saying which networks it is for.
(() => {
  function panelOf(input) {
    // Each field is a panel of its own in the admin form; hide it with its heading.
    return document.getElementById(`panel-${input.name}-section`) || input.closest("[data-field-wrapper]");
  }

  function start() {
    const network = document.querySelector('select[name="network"]');
    if (!network) {
      return;
    }
    const update = () => {
      document.querySelectorAll("[data-networks]").forEach((input) => {
        // The admin's CSS sets display on panels, which would override `hidden`.
        panelOf(input).style.display = input.dataset.networks.split(" ").includes(network.value) ? "" : "none";
      });
    };
    network.addEventListener("change", update);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
