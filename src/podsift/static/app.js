// podsift's one script, served from /static so that the Content-Security-Policy can forbid inline ones.

// A "play" button starts its audio element at the button's second: the media fragment in the
// src covers browsers that honour it, setting currentTime covers the rest.
document.querySelectorAll("button.play").forEach(function (button) {
  button.addEventListener("click", function () {
    var audio = document.getElementById(button.dataset.audio);
    var start = parseFloat(button.dataset.start);
    var seek = function () { audio.currentTime = start; audio.play(); };
    if (audio.readyState >= 1) { seek(); } else { audio.addEventListener("loadedmetadata", seek, { once: true }); audio.load(); }
  });
});

// One player at a time: starting one pauses every other on the page.
document.querySelectorAll("audio").forEach(function (audio) {
  audio.addEventListener("play", function () {
    document.querySelectorAll("audio").forEach(function (other) {
      if (other !== audio && !other.paused) { other.pause(); }
    });
  });
});
