import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

// Connects with pgjdbc once per JDBC URL argument, given nothing but the URL, and prints one
// line per URL: the session's "user|database|application_name|search_path", or "error: "
// and the exception (one JVM for every URL keeps the test fast).
public class JdbcConnect {
  public static void main(String[] args) {
    String query = "select current_user, current_database(), current_setting('application_name'),"
        + " current_setting('search_path')";
    for (String url : args) {
      try (Connection c = DriverManager.getConnection(url);
           Statement st = c.createStatement();
           ResultSet rs = st.executeQuery(query)) {
        rs.next();
        System.out.println(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3) + "|" + rs.getString(4));
      } catch (Exception e) {
        System.out.println("error: " + String.valueOf(e).replace('\n', ' '));
      }
    }
  }
}
