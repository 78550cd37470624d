<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE" sourcelanguage="en">
<context>
    <name>Actions</name>
    <message>
        <source>&amp;New session</source>
        <translation>&amp;Neue Sitzung</translation>
    </message>
    <message>
        <source>Start again from the model as it was built, with the default sentence</source>
        <translation>Neu beginnen mit dem Modell, wie es gebaut wurde, und dem Standardsatz</translation>
    </message>
    <message>
        <source>&amp;Open session…</source>
        <translation>Sitzung ö&amp;ffnen…</translation>
    </message>
    <message>
        <source>Open a saved session: model, weights, sentence and view</source>
        <translation>Eine gespeicherte Sitzung öffnen: Modell, Gewichte, Satz und Ansicht</translation>
    </message>
    <message>
        <source>&amp;Save session</source>
        <translation>Sitzung &amp;speichern</translation>
    </message>
    <message>
        <source>Save the session: model, every weight, sentence, stage and view</source>
        <translation>Die Sitzung speichern: Modell, alle Gewichte, Satz, Schritt und Ansicht</translation>
    </message>
    <message>
        <source>Save session &amp;as…</source>
        <translation>Sitzung speichern &amp;unter…</translation>
    </message>
    <message>
        <source>Save the session under a new name</source>
        <translation>Die Sitzung unter einem neuen Namen speichern</translation>
    </message>
    <message>
        <source>Current stage as &amp;PNG…</source>
        <translation>Aktueller Schritt als &amp;PNG…</translation>
    </message>
    <message>
        <source>Save a picture of the stage canvas</source>
        <translation>Ein Bild der Schrittansicht speichern</translation>
    </message>
    <message>
        <source>Current stage as &amp;SVG…</source>
        <translation>Aktueller Schritt als &amp;SVG…</translation>
    </message>
    <message>
        <source>Save the stage canvas as a vector drawing</source>
        <translation>Die Schrittansicht als Vektorgrafik speichern</translation>
    </message>
    <message>
        <source>One &amp;panel as PNG…</source>
        <translation>Eine &amp;Matrix als PNG…</translation>
    </message>
    <message>
        <source>Save a picture of one matrix of the canvas</source>
        <translation>Ein Bild einer Matrix der Ansicht speichern</translation>
    </message>
    <message>
        <source>One pa&amp;nel as SVG…</source>
        <translation>Eine Ma&amp;trix als SVG…</translation>
    </message>
    <message>
        <source>Save one matrix of the canvas as a vector drawing</source>
        <translation>Eine Matrix der Ansicht als Vektorgrafik speichern</translation>
    </message>
    <message>
        <source>&amp;Copy stage picture</source>
        <translation>Schrittbild &amp;kopieren</translation>
    </message>
    <message>
        <source>Copy a picture of the stage canvas to the clipboard</source>
        <translation>Ein Bild der Schrittansicht in die Zwischenablage kopieren</translation>
    </message>
    <message>
        <source>&amp;All stages as numbered PNGs…</source>
        <translation>&amp;Alle Schritte als nummerierte PNGs…</translation>
    </message>
    <message>
        <source>One picture per stage, in forward order, for slides</source>
        <translation>Ein Bild pro Schritt, in Vorwärtsreihenfolge, für Folien</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>Close the app</source>
        <translation>Die App schließen</translation>
    </message>
    <message>
        <source>&amp;Next stage</source>
        <translation>&amp;Nächster Schritt</translation>
    </message>
    <message>
        <source>Next</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <source>Step forward to the next stage</source>
        <translation>Einen Schritt vorwärts</translation>
    </message>
    <message>
        <source>&amp;Previous stage</source>
        <translation>&amp;Vorheriger Schritt</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Zurück</translation>
    </message>
    <message>
        <source>Step back to the previous stage</source>
        <translation>Einen Schritt zurück</translation>
    </message>
    <message>
        <source>&amp;First stage</source>
        <translation>&amp;Erster Schritt</translation>
    </message>
    <message>
        <source>First</source>
        <translation>Anfang</translation>
    </message>
    <message>
        <source>Jump to the first stage (tokens)</source>
        <translation>Zum ersten Schritt springen (Tokens)</translation>
    </message>
    <message>
        <source>&amp;Last stage</source>
        <translation>&amp;Letzter Schritt</translation>
    </message>
    <message>
        <source>Last</source>
        <translation>Ende</translation>
    </message>
    <message>
        <source>Jump to the last stage</source>
        <translation>Zum letzten Schritt springen</translation>
    </message>
    <message>
        <source>&amp;Play</source>
        <translation>&amp;Abspielen</translation>
    </message>
    <message>
        <source>Step through the stages automatically</source>
        <translation>Die Schritte automatisch durchgehen</translation>
    </message>
    <message>
        <source>Next &amp;layer</source>
        <translation>Nächste &amp;Schicht</translation>
    </message>
    <message>
        <source>Same stage, one layer deeper</source>
        <translation>Derselbe Schritt, eine Schicht tiefer</translation>
    </message>
    <message>
        <source>Previous l&amp;ayer</source>
        <translation>Vorherige S&amp;chicht</translation>
    </message>
    <message>
        <source>Same stage, one layer earlier</source>
        <translation>Derselbe Schritt, eine Schicht früher</translation>
    </message>
    <message>
        <source>Next &amp;head</source>
        <translation>Nächster &amp;Kopf</translation>
    </message>
    <message>
        <source>Show the next attention head</source>
        <translation>Den nächsten Attention-Kopf zeigen</translation>
    </message>
    <message>
        <source>Previous h&amp;ead</source>
        <translation>Vorheriger K&amp;opf</translation>
    </message>
    <message>
        <source>Show the previous attention head</source>
        <translation>Den vorherigen Attention-Kopf zeigen</translation>
    </message>
    <message>
        <source>Edit the &amp;sentence</source>
        <translation>Den &amp;Satz bearbeiten</translation>
    </message>
    <message>
        <source>Put the cursor in the sentence box</source>
        <translation>Den Cursor in das Satzfeld setzen</translation>
    </message>
    <message>
        <source>&amp;Causal mask</source>
        <translation>&amp;Kausale Maske</translation>
    </message>
    <message>
        <source>Hide later words from earlier ones</source>
        <translation>Spätere Wörter vor früheren verbergen</translation>
    </message>
    <message>
        <source>&amp;Scale scores by √d_k</source>
        <translation>Scores durch √d_k &amp;teilen</translation>
    </message>
    <message>
        <source>÷√d_k</source>
        <translation>÷√d_k</translation>
    </message>
    <message>
        <source>Divide attention scores by √d_head before the softmax</source>
        <translation>Die Attention-Scores vor dem Softmax durch √d_head teilen</translation>
    </message>
    <message>
        <source>&amp;Queries as columns (3Blue1Brown)</source>
        <translation>&amp;Queries als Spalten (3Blue1Brown)</translation>
    </message>
    <message>
        <source>Queries as columns</source>
        <translation>Queries als Spalten</translation>
    </message>
    <message>
        <source>Draw queries as columns, as in 3Blue1Brown's videos</source>
        <translation>Queries als Spalten zeichnen, wie in den Videos von 3Blue1Brown</translation>
    </message>
    <message>
        <source>&amp;Numbers in cells</source>
        <translation>&amp;Zahlen in den Zellen</translation>
    </message>
    <message>
        <source>Numbers</source>
        <translation>Zahlen</translation>
    </message>
    <message>
        <source>Write the values inside small matrices</source>
        <translation>Die Werte in kleine Matrizen schreiben</translation>
    </message>
    <message>
        <source>&amp;High-contrast colours</source>
        <translation>&amp;Hoher Kontrast</translation>
    </message>
    <message>
        <source>Colours that read well on a projector</source>
        <translation>Farben, die am Beamer gut lesbar sind</translation>
    </message>
    <message>
        <source>Colour-&amp;blind-safe colours</source>
        <translation>Farben für Farben&amp;blinde</translation>
    </message>
    <message>
        <source>Blue–orange and white-to-purple maps that read with red–green colour blindness (off: classic blue–red)</source>
        <translation>Blau–Orange und Weiß bis Violett, lesbar auch mit Rot-Grün-Schwäche (aus: klassisch Blau–Rot)</translation>
    </message>
    <message>
        <source>Show &amp;change since the last edit</source>
        <translation>Ä&amp;nderung seit der letzten Bearbeitung</translation>
    </message>
    <message>
        <source>Show change</source>
        <translation>Änderung zeigen</translation>
    </message>
    <message>
        <source>Draw the result as new − old after a weight edit</source>
        <translation>Das Ergebnis nach einer Gewichtsänderung als neu − alt zeichnen</translation>
    </message>
    <message>
        <source>Show as &amp;table</source>
        <translation>Als &amp;Tabelle zeigen</translation>
    </message>
    <message>
        <source>The matrix the keyboard is in (or the result) as a table of numbers with headers, for screen readers and spreadsheets</source>
        <translation>Die Matrix mit dem Tastaturfokus (oder das Ergebnis) als Zahlentabelle mit Überschriften, für Screenreader und Tabellenkalkulationen</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>&amp;Verlauf</translation>
    </message>
    <message>
        <source>List every edit; click one to go back to it</source>
        <translation>Alle Änderungen auflisten; ein Klick springt dorthin zurück</translation>
    </message>
    <message>
        <source>&amp;Parameters browser</source>
        <translation>&amp;Parameter</translation>
    </message>
    <message>
        <source>Every weight of the model by name; view and edit any of them (again: close it)</source>
        <translation>Alle Gewichte des Modells nach Namen; jedes ansehen und bearbeiten (noch einmal: schließen)</translation>
    </message>
    <message>
        <source>&amp;Table editor</source>
        <translation>Tabellen&amp;editor</translation>
    </message>
    <message>
        <source>Edit the chosen weight matrix as a table of numbers (again: close it)</source>
        <translation>Die gewählte Gewichtsmatrix als Zahlentabelle bearbeiten (noch einmal: schließen)</translation>
    </message>
    <message>
        <source>&amp;Choose preset…</source>
        <translation>&amp;Vorgabe wählen…</translation>
    </message>
    <message>
        <source>Presets…</source>
        <translation>Vorgaben…</translation>
    </message>
    <message>
        <source>Pick a built-in model: read what it shows, then open it, with a suggested sentence if you like</source>
        <translation>Ein eingebautes Modell wählen: lesen, was es zeigt, dann öffnen, auf Wunsch mit einem Beispielsatz</translation>
    </message>
    <message>
        <source>&amp;Load model file…</source>
        <translation>Modell&amp;datei laden…</translation>
    </message>
    <message>
        <source>Switch to a saved model (.npz) or a checkpoint folder</source>
        <translation>Zu einem gespeicherten Modell (.npz) oder einem Checkpoint-Ordner wechseln</translation>
    </message>
    <message>
        <source>Open &amp;Model…</source>
        <translation>&amp;Modell öffnen…</translation>
    </message>
    <message>
        <source>Open a checkpoint folder (GPT-2, BERT, sentence-transformers such as all-MiniLM-L6-v2); it loads in the background and can be cancelled</source>
        <translation>Einen Checkpoint-Ordner öffnen (GPT-2, BERT, sentence-transformers wie all-MiniLM-L6-v2); er lädt im Hintergrund und lässt sich abbrechen</translation>
    </message>
    <message>
        <source>P&amp;resentation mode</source>
        <translation>P&amp;räsentationsmodus</translation>
    </message>
    <message>
        <source>Present</source>
        <translation>Präsentieren</translation>
    </message>
    <message>
        <source>Full screen, large fonts, simple chrome</source>
        <translation>Vollbild, große Schrift, schlichte Oberfläche</translation>
    </message>
    <message>
        <source>Leave presentation mode</source>
        <translation>Präsentationsmodus verlassen</translation>
    </message>
    <message>
        <source>Back to the normal window</source>
        <translation>Zurück zum normalen Fenster</translation>
    </message>
    <message>
        <source>Zoom &amp;in</source>
        <translation>Ver&amp;größern</translation>
    </message>
    <message>
        <source>Larger cells, numbers and labels on the canvas (for projectors)</source>
        <translation>Größere Zellen, Zahlen und Beschriftungen (für Beamer)</translation>
    </message>
    <message>
        <source>Zoom &amp;out</source>
        <translation>Ver&amp;kleinern</translation>
    </message>
    <message>
        <source>Smaller cells, numbers and labels on the canvas</source>
        <translation>Kleinere Zellen, Zahlen und Beschriftungen</translation>
    </message>
    <message>
        <source>&amp;Actual size</source>
        <translation>&amp;Originalgröße</translation>
    </message>
    <message>
        <source>The canvas at 100 %</source>
        <translation>Die Ansicht bei 100 %</translation>
    </message>
    <message>
        <source>&amp;Reset layout</source>
        <translation>Anordnung &amp;zurücksetzen</translation>
    </message>
    <message>
        <source>Put every panel back where it was at the first start</source>
        <translation>Alle Bereiche dorthin zurücksetzen, wo sie beim ersten Start waren</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>&amp;Tastenkürzel</translation>
    </message>
    <message>
        <source>List every keyboard shortcut</source>
        <translation>Alle Tastenkürzel auflisten</translation>
    </message>
    <message>
        <source>&amp;About</source>
        <translation>Ü&amp;ber</translation>
    </message>
    <message>
        <source>About this app</source>
        <translation>Über diese App</translation>
    </message>
    <message>
        <source>&amp;Actual size (now {percent} %)</source>
        <translation>&amp;Originalgröße (jetzt {percent} %)</translation>
    </message>
</context>
<context>
    <name>Menus</name>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>&amp;Bearbeiten</translation>
    </message>
    <message>
        <source>&amp;Navigate</source>
        <translation>&amp;Navigieren</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Model</source>
        <translation>&amp;Modell</translation>
    </message>
    <message>
        <source>&amp;Window</source>
        <translation>&amp;Fenster</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>Open &amp;recent</source>
        <translation>Zuletzt &amp;geöffnet</translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation>&amp;Exportieren</translation>
    </message>
    <message>
        <source>&amp;Panels</source>
        <translation>Be&amp;reiche</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Sprache</translation>
    </message>
    <message>
        <source>The language takes effect at the next start: {name}</source>
        <translation>Die Sprache gilt ab dem nächsten Start: {name}</translation>
    </message>
</context>
<context>
    <name>Docks</name>
    <message>
        <source>Forward pass</source>
        <translation>Vorwärtsdurchlauf</translation>
    </message>
    <message>
        <source>What happens here</source>
        <translation>Was hier passiert</translation>
    </message>
    <message>
        <source>Next-token prediction</source>
        <translation>Vorhersage des nächsten Tokens</translation>
    </message>
    <message>
        <source>Embedding space</source>
        <translation>Einbettungsraum</translation>
    </message>
    <message>
        <source>Compare sentences</source>
        <translation>Sätze vergleichen</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>Parameter</translation>
    </message>
    <message>
        <source>Weight table</source>
        <translation>Gewichtstabelle</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Verlauf</translation>
    </message>
</context>
</TS>
