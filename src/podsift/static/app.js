// podsift's one script, served from /static so that the Content-Security-Policy can forbid inline ones.

// A "play" button starts its page's player at the button's second, first loading the button's
// audio if the player holds another episode's (a digest page has one player for all its items).
// Setting currentTime once the metadata is in covers browsers that ignore media fragments.
document.querySelectorAll("button.play").forEach(function (button) {
  button.addEventListener("click", function () {
    var audio = document.getElementById(button.dataset.audio);
    var start = parseFloat(button.dataset.start);
    var seek = function () { audio.currentTime = start; audio.play(); };
    if (button.dataset.src && audio.dataset.src !== button.dataset.src) {
      audio.dataset.src = button.dataset.src;
      audio.src = button.dataset.src;
    }
    var label = document.getElementById("now-playing");
    if (label && button.dataset.label) { label.textContent = "\u25B6 " + button.dataset.label; }
    if (audio.readyState >= 1) { seek(); } else { audio.addEventListener("loadedmetadata", seek, { once: true }); audio.load(); }
  });
});

// On an episode page the sentence being played is outlined, and scrolled into view when it is not.
(function () {
  var player = document.getElementById("player");
  var lines = Array.prototype.slice.call(document.querySelectorAll("[data-at]"));
  if (!player || !lines.length) { return; }
  var shown = null;
  player.addEventListener("timeupdate", function () {
    var current = null;
    for (var i = 0; i < lines.length && parseFloat(lines[i].dataset.at) <= player.currentTime; i++) { current = lines[i]; }
    if (current === shown) { return; }
    if (shown) { shown.classList.remove("current"); }
    shown = current;
    if (!current) { return; }
    current.classList.add("current");
    var box = current.getBoundingClientRect();
    if (box.top < 60 || box.bottom > window.innerHeight) { current.scrollIntoView({ block: "center" }); }
  });
})();
