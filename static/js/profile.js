// The profile page offers the browser's time zone when the saved one differs (a hint: the
// person decides; nothing is saved until they press the button of the form).
(function () {
  const select = document.getElementById("f-time_zone");
  const hint = document.getElementById("zone-hint");
  if (!select || !hint) return;
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  const known = Array.from(select.options).some((o) => o.value === zone);
  if (!zone || !known || zone === select.dataset.saved) return;
  hint.querySelector(".zone-name").textContent = zone;
  hint.hidden = false;
  document.getElementById("zone-use").addEventListener("click", () => {
    select.value = zone;
    hint.hidden = true;
    select.focus();
  });
})();
