// The conversation list loads its next page when its "Load more" button scrolls into view
// (endless scrolling); the button stays for keyboards and for browsers without the observer.
(() => {
  if (!("IntersectionObserver" in window)) return;
  const watched = new WeakSet();
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) {
        observer.unobserve(entry.target);
        entry.target.click();
      }
    }
  });
  const scan = () => {
    for (const button of document.querySelectorAll("[data-load-more]")) {
      if (!watched.has(button)) {
        watched.add(button);
        observer.observe(button);
      }
    }
  };
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  scan();
})();
