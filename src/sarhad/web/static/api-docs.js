// /api/docs: Swagger UI from the node's own files (the swagger-ui-bundle-v2 package), started from this file
// rather than an inline script, which the node's Content-Security-Policy (script-src 'self') refuses.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
