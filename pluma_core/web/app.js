// Minimal shell: shows which plugins the server loaded.
async function main() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/api/plugins", { credentials: "same-origin" });
    if (!response.ok) {
      status.textContent = `The server answered ${response.status}.`;
      return;
    }
    const plugins = await response.json();
    status.textContent = `${plugins.filter((p) => p.status === "loaded").length} plugins loaded.`;
    const list = document.getElementById("plugins");
    for (const plugin of plugins) {
      const item = document.createElement("li");
      item.textContent = `${plugin.name} (${plugin.status})`;
      if (plugin.status === "failed") item.className = "failed";
      list.appendChild(item);
    }
  } catch (error) {
    status.textContent = "Cannot reach the server.";
  }
}
main();
